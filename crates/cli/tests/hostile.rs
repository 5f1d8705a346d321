//! Hostile servers: a reply far larger than any real one is read only up to the app's cap while
//! it streams, so it cannot fill the memory. The sign-in itself runs against the real
//! oidc-provider; only the user endpoint is the hostile part (a raw socket that streams).

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::{require_keyring, Idp, Sandbox};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// 600 MB of JSON-looking bytes, announced with their length and sent as fast as they are read.
const HUGE: usize = 600 * 1024 * 1024;

/// A user endpoint whose first answer is a normal one (the sign-in's "who am I"), and every
/// later one a 600 MB reply. Returns its URL and the number of bytes it managed to send.
async fn hostile_userinfo() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/me", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        let mut served = 0;
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            served += 1;
            let first = served == 1;
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if first {
                    let body =
                        br#"{"sub":"alice","name":"Alice Example","email":"alice@example.test"}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(reply.as_bytes()).await;
                    let _ = s.write_all(body).await;
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {HUGE}\r\nconnection: close\r\n\r\n{{\"padding\":\""
                );
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = HUGE - 12;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if s.write_all(&chunk[..n]).await.is_err() {
                        return; // the client stopped reading: what we want
                    }
                    counter.fetch_add(n, Ordering::Relaxed);
                    left -= n;
                }
            });
        }
    });
    (url, sent)
}

/// Runs the CLI and returns its output and its peak resident memory in KiB (from wait4).
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also reports its peak memory"
)]
fn run_measured(sandbox: &Sandbox, args: &[&str]) -> (std::process::Output, i64) {
    use std::io::Read;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_connected-accounts"));
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in sandbox.env() {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut e = Vec::new();
        err.read_to_end(&mut e).unwrap();
        e
    });
    let mut stdout = Vec::new();
    out.read_to_end(&mut stdout).unwrap();
    let stderr = reader.join().unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill; the pid is our own child,
    // reaped here (std's Child is not waited for afterwards).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    let status = std::os::unix::process::ExitStatusExt::from_raw(status);
    (
        std::process::Output {
            status,
            stdout,
            stderr,
        },
        usage.ru_maxrss,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_600_mb_user_endpoint_reply_is_cut_at_the_cap_and_the_memory_stays_small() {
    require_keyring();
    let idp = Idp::start().await;
    let sandbox = Sandbox::new();
    let (userinfo, sent) = hostile_userinfo().await;
    let mut add = support::add_demo_provider_args(&idp).to_vec();
    add.extend(["--userinfo-url", &userinfo]);
    let (out, _) = run_measured(&sandbox, &add);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (out, _) = run_measured(&sandbox, &["connect", "local-demo", "--timeout", "30"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // Blocking here is fine: the hostile server runs on the runtime's worker threads.
    let (out, peak_kib) = run_measured(&sandbox, &["test", &id, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], 200);
    assert_eq!(result["truncated"], true, "the result says it was cut");
    let text = result["body"]["text"].as_str().unwrap();
    assert!(text.starts_with("{\"padding\":\"xxx"), "{}", &text[..40]);
    assert!(text.len() <= 1024 * 1024);
    assert!(
        peak_kib < 256 * 1024,
        "peak memory {} MiB against a 600 MB reply",
        peak_kib / 1024
    );
    // The client stopped reading long before the end (the kernel buffers a few MB at most).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        sent.load(Ordering::Relaxed) < 64 * 1024 * 1024,
        "{} bytes were sent",
        sent.load(Ordering::Relaxed)
    );
    eprintln!(
        "peak {} MiB; the server got {} KiB out",
        peak_kib / 1024,
        sent.load(Ordering::Relaxed) / 1024
    );

    // The human-readable view says so too.
    let (out, _) = run_measured(&sandbox, &["test", &id]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("larger than 1 MiB; only its start is shown"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
