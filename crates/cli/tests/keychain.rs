//! The keychain locked under the app: a clear error naming the fix, never a hang. Runs in a
//! keyring of its own (a nested private session), since locking the shared one would disturb
//! the other tests.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use support::{repo_root, require_keyring, Sandbox};

#[tokio::test]
async fn a_locked_keychain_is_a_clear_error_not_a_hang() {
    require_keyring();
    let sandbox = Sandbox::new();
    let script = r#"
        set -e
        printf 's3cret' | "$CLI" providers configure github --client-id x --client-secret-stdin
        dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
            org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
        "$CLI" connect github --timeout 5
    "#;
    let run = tokio::process::Command::new(repo_root().join("tests/with-keyring.sh"))
        .args(["bash", "-c", script])
        .envs(sandbox.env())
        .env("CLI", env!("CARGO_BIN_EXE_connected-accounts"))
        // No display: an unlock prompt cannot appear (and must not be waited for).
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("hung on a locked keychain")
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("keychain"), "{err}");
    assert!(err.contains("unlock"), "the hint names the fix: {err}");
}
