//! Shared by the Rust integration tests: the real authorization server (oidc-provider on loopback),
//! a sandbox of XDG folders, the scripted browser, and a check that the real keychain is there.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub fn repo_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("tauri.conf.json").is_file() {
        assert!(dir.pop(), "cannot find the repository root");
    }
    dir
}

/// Integration tests use the real Secret Service: they must run under `tests/with-keyring.sh`.
pub fn require_keyring() {
    assert_eq!(
        std::env::var("CA_TEST_KEYRING").as_deref(),
        Ok("1"),
        "integration tests use the real Secret Service: run them through tests/with-keyring.sh \
         (scripts/test.sh does)"
    );
}

/// A running oidc-provider, stopped when dropped.
pub struct Idp {
    pub issuer: String,
    pub port: u16,
    /// The initial access token of a server started with IDP_SECRET_TTL.
    pub initial_access_token: Option<String>,
    _child: Child,
}

impl Idp {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let (child, v) = spawn_server(
            "tests/idp/server.mjs",
            &[("IDP_PORT", "0"), ("IDP_EXIT_ON_STDIN_EOF", "1")],
            env,
        )
        .await;
        Self {
            issuer: v["issuer"].as_str().unwrap().to_string(),
            port: v["port"].as_u64().unwrap() as u16,
            initial_access_token: v["initial_access_token"].as_str().map(str::to_owned),
            _child: child,
        }
    }

    pub async fn stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/__stats", self.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A Node test server of ours (`script`, from the repository root) whose first stdout line is its
/// JSON handshake: the running child (killed when dropped; `defaults` should make it exit when
/// its stdin closes, so a crashed test leaves no server behind) and that line.
pub async fn spawn_server(
    script: &str,
    defaults: &[(&str, &str)],
    env: &[(&str, &str)],
) -> (Child, serde_json::Value) {
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in defaults.iter().chain(env) {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("start node {script}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .expect("read the server's first line");
    let v = serde_json::from_str(&line).unwrap_or_else(|_| panic!("bad server line {line:?}"));
    (child, v)
}

/// Where a sign-in's one-time launcher sends the browser/// Where a sign-in's one-time launcher sends the browser, fetched once as the browser would.
pub async fn follow_launcher(browser_url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let r = client.get(browser_url).send().await.unwrap();
    assert_eq!(
        r.status(),
        302,
        "the launcher at {browser_url} answered {}",
        r.status()
    );
    r.headers()["location"].to_str().unwrap().to_string()
}

/// A GET of `url` made by another local user (uid 65534 through `setpriv`; needs root, as CI
/// runs): the status and body it saw.
pub async fn get_as_other_user(url: &str) -> (u16, String) {
    assert!(
        is_root().await,
        "this test acts as uid 65534 through setpriv, which needs root"
    );
    let script = "import sys,urllib.request,urllib.error\n\
        o=urllib.request.build_opener(urllib.request.ProxyHandler({}))\n\
        class NoRedirect(urllib.request.HTTPRedirectHandler):\n\
        \x20 def redirect_request(self,*a): return None\n\
        o.add_handler(NoRedirect())\n\
        try:\n\
        \x20 r=o.open(sys.argv[1],timeout=5); print(r.status); print(r.read().decode())\n\
        except urllib.error.HTTPError as e:\n\
        \x20 print(e.code); print(e.read().decode())\n";
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["/usr/bin/python3", "-c", script, url])
        .output()
        .await
        .expect("run setpriv (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, body) = text.split_once('\n').unwrap_or((&text, ""));
    let status = status.trim().parse().unwrap_or_else(|_| {
        panic!(
            "the other user's GET failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (status, body.to_string())
}

async fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().await.unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `connected-accounts` arguments that add `idp` as the provider "Local demo" (id `local-demo`).
pub fn add_demo_provider_args(idp: &Idp) -> [&str; 8] {
    [
        "providers",
        "add",
        "--issuer",
        &idp.issuer,
        "--client-id",
        "connected-accounts-demo",
        "--name",
        "Local demo",
    ]
}

/// Private XDG folders (data, state, config) for one test.
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ca-test-{}", uuid_like()));
        for sub in ["data", "state", "config"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        Self { dir }
    }

    pub fn env(&self) -> Vec<(String, String)> {
        let root = repo_root();
        vec![
            (
                "XDG_DATA_HOME".into(),
                self.dir.join("data").display().to_string(),
            ),
            (
                "XDG_STATE_HOME".into(),
                self.dir.join("state").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                self.dir.join("config").display().to_string(),
            ),
            (
                "BROWSER".into(),
                format!("python3 {}", root.join("tests/idp/browser.py").display()),
            ),
            ("CONNECTED_ACCOUNTS_PROFILE".into(), String::new()),
        ]
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data/connected-accounts")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("state/connected-accounts/logs")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{n:x}", std::process::id())
}

/// What `secret-tool` (outside the app) finds in the Secret Service for an account.
pub async fn keychain_lookup(service: &str, account_id: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account_id])
        .output()
        .await
        .expect("run secret-tool (libsecret-tools)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Every file under `dir`, read as bytes, searched for `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(p);
                }
            }
        }
    }
    hits
}

/// An engine over the sandbox with its own keychain namespace, and the "Local demo" provider
/// pointing at `idp`.
pub async fn demo_engine(sandbox: &Sandbox, idp: &Idp, namespace: &str) -> ca_core::Engine {
    let engine = ca_core::Engine::open(
        ca_core::paths::Paths::rooted(&sandbox.dir, namespace),
        ca_core::secret::Keychain::platform(namespace.to_string()),
    )
    .await
    .unwrap();
    engine
        .add_provider(ca_core::NewProvider {
            issuer: idp.issuer.clone(),
            client_id: "connected-accounts-demo".into(),
            name: Some("Local demo".into()),
            scopes: vec![],
            ..Default::default()
        })
        .await
        .unwrap();
    engine
}

/// tests/idp/resource.mjs (a protected API on loopback), stopped when dropped.
pub struct Resource {
    pub url: String,
    _child: Child,
}

impl Resource {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let (child, v) = spawn_server(
            "tests/idp/resource.mjs",
            &[("RS_EXIT_ON_STDIN_EOF", "1")],
            env,
        )
        .await;
        Self {
            url: v["resource"].as_str().unwrap().to_owned(),
            _child: child,
        }
    }

    /// Its origin (`http://127.0.0.1:PORT`).
    pub fn origin(&self) -> &str {
        self.url.trim_end_matches("/api")
    }

    pub async fn stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/__stats", self.origin()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}
