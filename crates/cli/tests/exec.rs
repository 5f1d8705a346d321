//! `exec` and the audit of who read a token, through the real parts: oidc-provider on loopback,
//! the real Secret Service, a real SQLite file, and real programs (sh) as the consumers.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{keychain_lookup, require_keyring, Idp, Sandbox};
use tokio::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_connected-accounts");

fn cli(sandbox: &Sandbox) -> Command {
    let mut cmd = Command::new(CLI);
    cmd.stdin(Stdio::null()).envs(sandbox.env());
    cmd
}

async fn run(sandbox: &Sandbox, args: &[&str]) -> Output {
    cli(sandbox).args(args).output().await.unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Alice connected at a server started with `env`; her account id.
async fn alice_at(env: &[(&str, &str)]) -> (Idp, Sandbox, String) {
    require_keyring();
    let idp = Idp::start_with(env).await;
    let sandbox = Sandbox::new();
    let add = run(&sandbox, &support::add_demo_provider_args(&idp)).await;
    assert!(add.status.success(), "{}", stderr(&add));
    let out = run(&sandbox, &["connect", "local-demo", "--timeout", "30"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    (idp, sandbox, id)
}

/// What the server's userinfo endpoint says of a token: its status and `sub`.
async fn userinfo(idp: &Idp, token: &str) -> (u16, Value) {
    let http = reqwest::Client::new();
    let meta: Value = http
        .get(format!("{}/.well-known/openid-configuration", idp.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reply = http
        .get(meta["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

/// Every process's command line that contains `needle`.
fn command_lines_containing(needle: &str) -> Vec<String> {
    let mut hits = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                hits.push(String::from_utf8_lossy(&bytes).replace('\0', " "));
            }
        }
    }
    hits
}

async fn wait_for_file(path: &Path) {
    for _ in 0..300 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never appeared", path.display());
}

fn scratch(sandbox: &Sandbox, name: &str) -> PathBuf {
    sandbox.dir.join(name)
}

/// A `$XDG_RUNTIME_DIR` as the system makes one: the user's own, mode 0700.
fn runtime_dir(sandbox: &Sandbox) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let runtime = scratch(sandbox, "runtime");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    runtime
}

#[tokio::test]
async fn the_program_gets_a_working_token_in_its_environment_and_nowhere_else() {
    let (idp, sandbox, id) = alice_at(&[]).await;
    let out = scratch(&sandbox, "token");
    let ready = scratch(&sandbox, "ready");
    let mut child = cli(&sandbox)
        .args(["exec", &id, "--env", "MY_TOKEN", "--", "sh", "-c"])
        .arg(r#"printf %s "$MY_TOKEN" > "$OUT"; printf %s "${OAUTH_ACCESS_TOKEN-unset}" > "$OUT.default"; echo $$ > "$READY"; sleep 2"#)
        .env("OUT", &out)
        .env("READY", &ready)
        .spawn()
        .unwrap();
    wait_for_file(&ready).await;
    let token = std::fs::read_to_string(&out).unwrap();
    assert!(token.len() > 20, "a token: {token:?}");
    // execve: the program runs in the command line's own process.
    let pid: u32 = std::fs::read_to_string(&ready)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(Some(pid), child.id());
    assert_eq!(command_lines_containing(&token), Vec::<String>::new());
    assert!(child.wait().await.unwrap().success());
    assert_eq!(
        std::fs::read_to_string(format!("{}.default", out.display())).unwrap(),
        "unset"
    );

    let (status, me) = userinfo(&idp, &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["sub"], "alice");

    // Without --env, the provider's variable (a custom provider has none: OAUTH_ACCESS_TOKEN).
    let default = cli(&sandbox)
        .args([
            "exec",
            &id,
            "--",
            "sh",
            "-c",
            r#"test -n "$OAUTH_ACCESS_TOKEN""#,
        ])
        .status()
        .await
        .unwrap();
    assert!(default.success());
}

#[tokio::test]
async fn exit_codes_are_the_programs_own_or_envs() {
    let (_idp, sandbox, id) = alice_at(&[]).await;
    let code = |out: &Output| out.status.code();
    for status in ["0", "3", "4", "2", "1"] {
        let out = run(
            &sandbox,
            &["exec", &id, "--", "sh", "-c", &format!("exit {status}")],
        )
        .await;
        assert_eq!(
            code(&out),
            Some(status.parse().unwrap()),
            "{}",
            stderr(&out)
        );
    }

    let not_found = run(&sandbox, &["exec", &id, "--", "no-such-program-here"]).await;
    assert_eq!(code(&not_found), Some(127));
    assert!(stderr(&not_found).contains("no-such-program-here: command not found"));

    let plain = scratch(&sandbox, "not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let cannot_run = run(&sandbox, &["exec", &id, "--", plain.to_str().unwrap()]).await;
    assert_eq!(code(&cannot_run), Some(126), "{}", stderr(&cannot_run));

    // Our side: every failure is 125 and says which.
    let unknown = run(&sandbox, &["exec", "nobody", "--", "true"]).await;
    assert_eq!(code(&unknown), Some(125));
    assert!(stderr(&unknown).contains("nobody"), "{}", stderr(&unknown));
    for name in ["PATH", "LD_PRELOAD", "1BAD"] {
        let refused = run(&sandbox, &["exec", &id, "--env", name, "--", "true"]).await;
        assert_eq!(code(&refused), Some(125), "{name}");
        assert!(stderr(&refused).contains(name), "{}", stderr(&refused));
    }
    let usage = run(&sandbox, &["exec", &id, "true"]).await;
    assert_eq!(code(&usage), Some(125), "a usage error: {}", stderr(&usage));

    let cleared = Command::new("secret-tool")
        .args(["clear", "service", "connected-accounts", "username", &id])
        .status()
        .await
        .unwrap();
    assert!(cleared.success());
    let reconnect = run(&sandbox, &["exec", &id, "--", "true"]).await;
    assert_eq!(code(&reconnect), Some(125));
    assert!(
        stderr(&reconnect).contains("the keychain has no tokens"),
        "{}",
        stderr(&reconnect)
    );
    assert!(
        stderr(&reconnect).contains("connect"),
        "the way out: {}",
        stderr(&reconnect)
    );
}

#[tokio::test]
async fn a_stale_token_is_refreshed_before_the_program_starts() {
    let (idp, sandbox, id) = alice_at(&[("IDP_ACCESS_TTL", "20")]).await;
    let before: Value =
        serde_json::from_str(&keychain_lookup("connected-accounts", &id).await.unwrap()).unwrap();
    // Past half of its 20 s: too close to its end to hand to a program.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let out = scratch(&sandbox, "token");
    let status = cli(&sandbox)
        .args([
            "exec",
            &id,
            "--",
            "sh",
            "-c",
            r#"printf %s "$OAUTH_ACCESS_TOKEN" > "$OUT""#,
        ])
        .env("OUT", &out)
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let token = std::fs::read_to_string(&out).unwrap();
    assert_ne!(token, before["access_token"].as_str().unwrap());
    assert_eq!(idp.stats().await["refresh_success"], 1);
    assert_eq!(userinfo(&idp, &token).await.0, 200);
}

#[tokio::test]
async fn keep_fresh_rewrites_the_token_file_across_expiry_and_removes_it() {
    let (idp, sandbox, id) = alice_at(&[("IDP_ACCESS_TTL", "4")]).await;
    let runtime = runtime_dir(&sandbox);
    let seen = scratch(&sandbox, "seen");
    // Reads its file for 9 s (two lifetimes and more), noting each token and the file's mode.
    let script = r#"
        echo "$GH_TOKEN_FILE" > "$SEEN.path"; stat -c %a "$GH_TOKEN_FILE" > "$SEEN.mode"
        i=0; while [ $i -lt 45 ]; do cat "$GH_TOKEN_FILE" >> "$SEEN"; echo >> "$SEEN"; sleep 0.2; i=$((i+1)); done
        exit 7"#;
    let status = cli(&sandbox)
        .args([
            "exec",
            &id,
            "--keep-fresh",
            "--env",
            "GH_TOKEN",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("SEEN", &seen)
        .status()
        .await
        .unwrap();
    assert_eq!(status.code(), Some(7), "the program's status");
    let mut tokens: Vec<String> = std::fs::read_to_string(&seen)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(
        tokens.iter().all(|t| t.len() > 20),
        "never half a token: {tokens:?}"
    );
    tokens.dedup();
    assert!(tokens.len() >= 2, "the file was rewritten: {tokens:?}");
    assert!(idp.stats().await["refresh_success"].as_u64().unwrap() >= 1);
    assert_eq!(
        std::fs::read_to_string(format!("{}.mode", seen.display()))
            .unwrap()
            .trim(),
        "600"
    );
    let file = std::fs::read_to_string(format!("{}.path", seen.display())).unwrap();
    assert!(file.trim().starts_with(runtime.to_str().unwrap()), "{file}");
    assert!(
        !Path::new(file.trim()).exists(),
        "the file is removed when the program ends"
    );
    assert_eq!(
        std::fs::read_dir(&runtime).unwrap().count(),
        0,
        "nothing left behind"
    );

    // A runtime folder others can open is refused before any token is read.
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let open = cli(&sandbox)
        .args(["exec", &id, "--keep-fresh", "--", "true"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .await
        .unwrap();
    assert_eq!(open.status.code(), Some(125));
    assert!(stderr(&open).contains("0700"), "{}", stderr(&open));
}

#[tokio::test]
async fn keep_fresh_forwards_signals_and_ends_as_the_program_did() {
    let (_idp, sandbox, id) = alice_at(&[]).await;
    let runtime = runtime_dir(&sandbox);
    let note = scratch(&sandbox, "note");
    let ready = scratch(&sandbox, "ready");
    let script = r#"trap 'echo TERM >> "$NOTE"; exit 9' TERM; trap 'echo HUP >> "$NOTE"' HUP
        trap 'echo INT >> "$NOTE"' INT
        echo $$ > "$READY"; while :; do sleep 0.1; done"#;
    let mut child = cli(&sandbox)
        .args(["exec", &id, "--keep-fresh", "--", "sh", "-c", script])
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("NOTE", &note)
        .env("READY", &ready)
        .spawn()
        .unwrap();
    wait_for_file(&ready).await;
    let parent = child.id().unwrap() as i32;
    let program: i32 = std::fs::read_to_string(&ready)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(parent, program, "--keep-fresh stays as the parent");
    let signal = |pid: i32, sig: i32| unsafe { libc::kill(pid, sig) };
    signal(parent, libc::SIGHUP);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Ctrl-C reaches the program from the terminal; the parent lets it decide and stays.
    signal(parent, libc::SIGINT);
    signal(program, libc::SIGINT);
    tokio::time::sleep(Duration::from_millis(500)).await;
    signal(parent, libc::SIGTERM);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the parent ends with its program")
        .unwrap();
    assert_eq!(status.code(), Some(9));
    let notes = std::fs::read_to_string(&note).unwrap();
    assert_eq!(
        notes.lines().collect::<Vec<_>>(),
        ["HUP", "INT", "TERM"],
        "{notes}"
    );

    // A program killed by a signal: the parent re-raises it.
    let killed = cli(&sandbox)
        .args([
            "exec",
            &id,
            "--keep-fresh",
            "--",
            "sh",
            "-c",
            "kill -USR2 $$; sleep 5",
        ])
        .env("XDG_RUNTIME_DIR", &runtime)
        .status()
        .await
        .unwrap();
    assert_eq!(killed.signal(), Some(libc::SIGUSR2));
    assert_eq!(std::fs::read_dir(&runtime).unwrap().count(), 0);
}

#[tokio::test]
async fn the_audit_names_the_program_that_read_the_token() {
    let (_idp, sandbox, id) = alice_at(&[]).await;
    let work = scratch(&sandbox, "work");
    std::fs::create_dir(&work).unwrap();
    // A shell reads twice in a row (one entry, counted twice), then exec reads once.
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#""$CLI" token "$ID" >/dev/null && "$CLI" token "$ID" >/dev/null && "$CLI" exec "$ID" -- true && :"#)
        .env("CLI", CLI)
        .env("ID", &id)
        .envs(sandbox.env())
        .current_dir(&work)
        .stdin(Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let out = run(&sandbox, &["audit", "--account", &id, "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let stored: Value =
        serde_json::from_str(&keychain_lookup("connected-accounts", &id).await.unwrap()).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains(stored["access_token"].as_str().unwrap()),
        "no token in the audit"
    );
    let events: Vec<Value> = serde_json::from_str(&text).unwrap();
    let reads: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "token_read")
        .collect();
    assert_eq!(reads.len(), 2, "{events:#?}");
    let shell = std::fs::canonicalize("/bin/sh").unwrap();
    let me = std::env::current_exe().unwrap();
    let (exec, token) = (reads[0], reads[1]);
    for (read, kind, count) in [(token, "token", 2), (exec, "exec", 1)] {
        let c = &read["consumer"];
        assert_eq!(c["kind"], kind);
        assert_eq!(read["count"], count, "{read}");
        assert_eq!(
            c["exe"],
            shell.to_str().unwrap(),
            "the calling shell, not the CLI: {read}"
        );
        assert_eq!(c["parent_exe"], me.to_str().unwrap(), "{read}");
        assert_eq!(c["cwd"], work.to_str().unwrap());
        assert_eq!(read["account_id"], id.as_str());
    }
    assert_eq!(exec["detail"], "exec true");
    // Only this account's entries.
    assert!(events.iter().all(|e| e["account_id"] == id.as_str()));

    let lines = run(&sandbox, &["audit", "--account", &id]).await;
    let lines = String::from_utf8(lines.stdout).unwrap();
    let shell_name = shell.file_name().unwrap().to_str().unwrap();
    assert!(
        lines.contains(&format!("by {shell_name} ← ")) && lines.contains("(2 reads)"),
        "{lines}"
    );
}
