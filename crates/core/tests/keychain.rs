//! The real Secret Service, with the Windows limit applied (2,560 bytes per entry): a token set
//! too large for one entry (Microsoft tokens with group claims exceed 10 KB) is split, read back
//! whole, replaced cleanly and deleted with all its parts. Nothing is ever truncated.

#[path = "../../../tests/support/mod.rs"]
mod support;

use ca_core::secret::{Keychain, SecretString, TokenSet, WINDOWS_MAX_SECRET};
use support::require_keyring;

fn tokens(access_len: usize) -> TokenSet {
    TokenSet {
        access_token: SecretString::new("a".repeat(access_len)),
        refresh_token: Some(SecretString::new(format!("rt-{access_len}"))),
        id_token: Some(SecretString::new("h.p.s".repeat(300))),
        expires_at_ms: Some(1),
        obtained_at_ms: 0,
        dpop_key: None,
    }
}

/// Every item of `service` as secret-tool sees it: (username attribute, secret length).
fn items(service: &str) -> Vec<(String, usize)> {
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut found = Vec::new();
    let mut user = String::new();
    for line in text.lines() {
        if let Some(u) = line.strip_prefix("attribute.username = ") {
            user = u.to_string();
        }
        if let Some(secret) = line.strip_prefix("secret = ") {
            found.push((user.clone(), secret.len()));
        }
    }
    found
}

#[test]
fn large_token_sets_are_split_under_the_windows_limit_and_never_truncated() {
    require_keyring();
    let service = format!("connected-accounts-chunks-{}", std::process::id());
    let k = Keychain::platform(service.clone()).with_max_secret(WINDOWS_MAX_SECRET);
    let big = tokens(12_000);
    k.put("acc", &big).unwrap();
    let stored = items(&service);
    assert!(stored.len() >= 6, "split into parts: {stored:?}");
    assert!(
        stored.iter().all(|(_, len)| *len <= WINDOWS_MAX_SECRET),
        "an entry exceeds the limit: {stored:?}"
    );
    let back = k.get("acc").unwrap().unwrap();
    assert_eq!(back.access_token.expose().len(), 12_000);
    assert_eq!(back.access_token, big.access_token);
    assert_eq!(back.refresh_token, big.refresh_token);

    // Replaced by another large set, then by a small one: old parts go away each time.
    k.put("acc", &tokens(9_000)).unwrap();
    assert_eq!(
        k.get("acc").unwrap().unwrap().access_token.expose().len(),
        9_000
    );
    let after_second = items(&service).len();
    assert!(
        after_second < stored.len(),
        "old parts were removed: {after_second}"
    );
    k.put("acc", &tokens(100)).unwrap();
    assert_eq!(items(&service).len(), 1, "a small set is one entry again");
    assert_eq!(
        k.get("acc").unwrap().unwrap().access_token.expose().len(),
        100
    );

    k.put("acc", &big).unwrap();
    k.delete("acc").unwrap();
    assert!(items(&service).is_empty(), "delete removes every part");
    assert!(k.get("acc").unwrap().is_none());
}
