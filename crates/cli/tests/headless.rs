//! Signing in with no desktop (no display, no $BROWSER): a device code where the provider has
//! one, else the address the browser ended on pasted back, through the real server and the
//! scripted browser run "on another machine".

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Stdio;

use support::{require_keyring, Idp, Sandbox};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

/// `connect local-demo` as it runs over SSH or on a server: no display and no $BROWSER.
async fn headless_connect(
    idp_env: &[(&str, &str)],
) -> (Idp, Sandbox, Child, Lines<BufReader<ChildStderr>>) {
    require_keyring();
    let idp = Idp::start_with(idp_env).await;
    let sandbox = Sandbox::new();
    let add = Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
        .args(support::add_demo_provider_args(&idp))
        .envs(sandbox.env())
        .output()
        .await
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
        .args(["connect", "local-demo", "--timeout", "60"])
        .envs(sandbox.env())
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_TTY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    (idp, sandbox, child, lines)
}

/// Reads stderr up to the first line `pick` accepts; returns what it picked.
async fn read_until(
    lines: &mut Lines<BufReader<ChildStderr>>,
    pick: impl Fn(&str) -> Option<String>,
) -> String {
    let mut seen = vec![];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Ok(Ok(Some(line))) = tokio::time::timeout_at(deadline, lines.next_line()).await {
        if let Some(found) = pick(&line) {
            return found;
        }
        seen.push(line);
    }
    panic!("not found on stderr within 30 s:\n{}", seen.join("\n"));
}

/// The scripted browser, on "another machine": signs in at `url` and returns what it printed.
async fn browser(url: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new("python3")
        .arg(support::repo_root().join("tests/idp/browser.py"))
        .arg(url)
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "browser: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn with_no_display_a_device_code_is_offered_and_works() {
    let (_idp, _sandbox, mut child, mut lines) = headless_connect(&[]).await;
    let uri = read_until(&mut lines, |l| {
        l.strip_prefix("To sign in to ")
            .and_then(|rest| rest.split(", open ").nth(1))
            .map(|rest| rest.split(' ').next().unwrap().to_string())
    })
    .await;
    let code = read_until(&mut lines, |l| {
        let t = l.trim();
        (l.starts_with("    ") && !t.is_empty()).then(|| t.to_string())
    })
    .await;
    browser(&uri, &[("CA_TEST_USER_CODE", &code)]).await;
    let status = child.wait().await.unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn with_no_display_and_no_device_code_the_final_address_is_pasted_back() {
    let (_idp, sandbox, mut child, mut lines) = headless_connect(&[("IDP_DEVICE", "off")]).await;
    let url = read_until(&mut lines, |l| {
        l.strip_prefix("  ")
            .filter(|u| u.starts_with("http"))
            .map(str::to_owned)
    })
    .await;
    assert!(
        url.contains("/auth") || url.contains("authorize"),
        "the provider's own URL: {url}"
    );
    let callback = browser(&url, &[("CA_TEST_PRINT_CALLBACK", "1")]).await;
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    let mut stdin = child.stdin.take().unwrap();

    // A forged state and another address are refused; the sign-in waits for the real one.
    let state = callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let forged = callback.replace(state, "forged-state");
    let elsewhere = callback.replacen("127.0.0.1", "127.0.0.2", 1);
    for (bad, said) in [
        (&forged, "refused"),
        (&elsewhere, "not where this sign-in's browser was sent"),
    ] {
        stdin
            .write_all(format!("{bad}\n").as_bytes())
            .await
            .unwrap();
        read_until(&mut lines, |l| l.contains(said).then(|| l.to_string())).await;
    }
    stdin
        .write_all(format!("{callback}\n").as_bytes())
        .await
        .unwrap();
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut stdout = String::new();
        tokio::io::AsyncReadExt::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout)
            .await
            .unwrap();
        (child.wait().await.unwrap(), stdout)
    })
    .await
    .expect("connect finishes after the paste");
    assert!(out.0.success());
    let id = out.1.trim().to_string();
    assert_eq!(id.len(), 16, "{id:?}");

    // The same address again, into a new sign-in: refused (one use), and nothing is connected.
    let (_idp2, _s2, mut again, mut again_lines) = headless_connect(&[("IDP_DEVICE", "off")]).await;
    read_until(&mut again_lines, |l| {
        l.starts_with("  http").then(|| l.to_string())
    })
    .await;
    let mut stdin = again.stdin.take().unwrap();
    stdin
        .write_all(format!("{callback}\n").as_bytes())
        .await
        .unwrap();
    read_until(&mut again_lines, |l| {
        l.contains("refused").then(|| l.to_string())
    })
    .await;
    drop(stdin); // nothing more will be pasted: the sign-in is cancelled
    let status = again.wait().await.unwrap();
    assert!(!status.success());
    let audit = Command::new(env!("CARGO_BIN_EXE_connected-accounts"))
        .args(["audit", "--json"])
        .envs(sandbox.env())
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&audit.stdout).contains("unsolicited_callback"));
}
