//! The loopback listener of a sign-in (RFC 8252 §7.3): 127.0.0.1 (or `[::1]`, or both for
//! `localhost`), an ephemeral port, two paths.
//!
//! - `/start/<random>`: the one-time launcher the browser is opened on. It answers with a 302 to
//!   the real authorization URL, so neither that URL nor its `state` is ever on a command line
//!   (which every local user can read in `/proc/PID/cmdline`).
//! - the callback path, where the provider sends the browser back; each request is handed to the
//!   flow, which decides. A listener that serves only the launcher (custom-scheme and device
//!   sign-ins) has none.
//!
//! Every connection's peer is looked up before anything is read from it ([`crate::peer`]): one
//! from another local user gets a static 403 and an audit entry, and changes nothing. Other paths
//! get 404. Dropping the listener closes it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::catalog::{LoopbackHost, RedirectRules};
use crate::error::{Error, ErrorKind, Result};
use crate::peer;

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// Refused peers audited per listener; more are counted in the log only (no audit flooding).
const MAX_AUDITED_REFUSALS: u32 = 10;

/// A request that reached the callback path, with a channel for the page to answer with.
#[derive(Debug)]
pub struct Callback {
    pub params: HashMap<String, String>,
    pub reply: oneshot::Sender<Page>,
}

/// The page the browser is shown.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub title: &'static str,
    pub text: String,
}

/// Where the launcher sends the browser, computed when it is fetched (a pushed authorization
/// request, RFC 9126, lives about a minute, so it is made then).
pub type LaunchFuture = Pin<Box<dyn Future<Output = Result<String>> + Send>>;
pub type LaunchFn = Arc<dyn Fn() -> LaunchFuture + Send + Sync>;
/// Told (with a description of the peer) when a connection from another user is refused.
pub type RefusedFn = Arc<dyn Fn(String) + Send + Sync>;

/// A launcher that always sends the browser to `url`.
pub fn launch_to(url: String) -> LaunchFn {
    Arc::new(move || {
        let url = url.clone();
        Box::pin(async move { Ok(url) })
    })
}

/// What a bound listener serves.
pub struct Routes {
    /// The callback path and where its requests go; `None` serves only the launcher.
    pub callback: Option<mpsc::Sender<Callback>>,
    pub launch: LaunchFn,
    pub on_refused: RefusedFn,
}

/// Sockets bound for a sign-in, not yet serving: their addresses are known, so the
/// authorization URL (which names the redirect URI) can be built before anything is served.
pub struct Bound {
    sockets: Vec<TcpListener>,
    path: String,
    /// `http://HOST:PORT/PATH`, as the provider's rules spell the host.
    pub redirect_uri: String,
    /// `http://127.0.0.1:PORT/start/<random>` (or `[::1]`): what the browser is opened on.
    pub launch_url: String,
}

pub struct Listener {
    pub redirect_uri: String,
    pub launch_url: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Shared {
    callback: Option<(String, mpsc::Sender<Callback>)>,
    launch_path: String,
    launch: LaunchFn,
    /// Set once the launcher has sent a browser on: it works once.
    launched: tokio::sync::Mutex<bool>,
    on_refused: RefusedFn,
    refusals: AtomicU32,
}

impl Bound {
    /// Binds loopback as the provider's rules say (127.0.0.1, [::1], or both for `localhost`;
    /// an ephemeral port unless one is fixed).
    pub async fn new(rules: &RedirectRules) -> Result<Self> {
        let (sockets, port, host) = bind_addresses(rules).await?;
        let launch_host = match rules.loopback_host {
            LoopbackHost::Ipv6 => "[::1]",
            _ => "127.0.0.1",
        };
        let token = oauth2::CsrfToken::new_random_len(32);
        Ok(Self {
            sockets,
            path: rules.path.clone(),
            redirect_uri: format!("http://{host}:{port}{}", rules.path),
            launch_url: format!("http://{launch_host}:{port}/start/{}", token.secret()),
        })
    }

    /// A listener on 127.0.0.1 that serves only a launcher (custom-scheme and device sign-ins).
    pub async fn launcher_only() -> Result<Self> {
        Self::new(&RedirectRules {
            kinds: vec![],
            loopback_host: LoopbackHost::Ipv4,
            path: "/".into(),
            fixed_port: None,
        })
        .await
    }

    pub fn serve(self, routes: Routes) -> Listener {
        let launch_path = url::Url::parse(&self.launch_url)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            callback: routes.callback.map(|tx| (self.path.clone(), tx)),
            launch_path,
            launch: routes.launch,
            launched: tokio::sync::Mutex::new(false),
            on_refused: routes.on_refused,
            refusals: AtomicU32::new(0),
        });
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut tasks = Vec::new();
        for listener in self.sockets {
            let (shared, slots) = (shared.clone(), slots.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let Ok((stream, remote)) = listener.accept().await else {
                        // e.g. out of file descriptors: back off rather than spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        // Decided before a byte of the request is read.
                        let verdict = match stream.local_addr() {
                            Ok(local) => peer::of_connection(local, remote),
                            Err(e) => peer::Peer::Unknown(e.to_string()),
                        };
                        if verdict.allowed() {
                            serve_connection(stream, shared).await;
                        } else {
                            refuse(stream, &shared, &verdict).await;
                        }
                        drop(permit);
                    });
                }
            }));
        }
        Listener {
            redirect_uri: self.redirect_uri,
            launch_url: self.launch_url,
            tasks,
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |req| handle(req, shared.clone()));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(3))
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    // A client that never finishes is cut off.
    let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
}

/// What a peer of another user is told, whatever it sent (which is never parsed).
const FORBIDDEN: &str = "This sign-in belongs to another user of this computer.\n";

async fn refuse(mut stream: TcpStream, shared: &Shared, verdict: &peer::Peer) {
    let n = shared.refusals.fetch_add(1, Ordering::Relaxed) + 1;
    let detail = format!("a connection from {} was refused", verdict.describe());
    if n <= MAX_AUDITED_REFUSALS {
        (shared.on_refused)(detail);
    } else {
        tracing::warn!(count = n, "{detail}");
    }
    let answer = format!(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\n\
         cache-control: no-store\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{FORBIDDEN}",
        FORBIDDEN.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
    // Drain (unread) what the peer sent, briefly, so it sees the 403 rather than a reset.
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut total = 0;
        while let Ok(k) = stream.read(&mut sink).await {
            total += k;
            if k == 0 || total > 64 * 1024 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// How many fresh ephemeral ports `localhost` tries when another program holds the `[::1]` half.
const PAIR_TRIES: usize = 8;

/// The listening sockets for `rules`, their port and the redirect URI's host form.
///
/// For `localhost` both halves are needed: a browser may try `[::1]` first, so whoever holds
/// `[::1]:PORT` would receive the code. "Address in use" on either half is fatal for that port (an
/// ephemeral one is replaced by a new pair); only a machine without IPv6 loopback ("address not
/// available") makes do with 127.0.0.1 alone.
async fn bind_addresses(rules: &RedirectRules) -> Result<(Vec<TcpListener>, u16, &'static str)> {
    let in_use = |port: u16, half: &str, e: std::io::Error| match rules.fixed_port {
        Some(p) => Error::new(
            ErrorKind::InvalidInput,
            format!("port {p} ({half}), which this provider's redirect URI names, is in use"),
        )
        .hint("close the program using it (or another sign-in in progress) and try again")
        .cause(e),
        None => Error::internal(format!(
            "cannot open a loopback port for the sign-in redirect ({half}, port {port})"
        ))
        .cause(e),
    };
    let port = rules.fixed_port.unwrap_or(0);
    let (first, host) = match rules.loopback_host {
        LoopbackHost::Ipv6 => (SocketAddr::from((Ipv6Addr::LOCALHOST, port)), "[::1]"),
        LoopbackHost::Ipv4 => (SocketAddr::from((Ipv4Addr::LOCALHOST, port)), "127.0.0.1"),
        LoopbackHost::Localhost => (SocketAddr::from((Ipv4Addr::LOCALHOST, port)), "localhost"),
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let v4 = TcpListener::bind(first)
            .await
            .map_err(|e| in_use(port, &first.to_string(), e))?;
        let bound = v4
            .local_addr()
            .map_err(|e| in_use(port, &first.to_string(), e))?
            .port();
        if rules.loopback_host != LoopbackHost::Localhost {
            return Ok((vec![v4], bound, host));
        }
        match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, bound))).await {
            Ok(v6) => return Ok((vec![v4, v6], bound, host)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                tracing::debug!("no IPv6 loopback here: localhost listens on 127.0.0.1 only");
                return Ok((vec![v4], bound, host));
            }
            Err(e) if rules.fixed_port.is_none() && tries < PAIR_TRIES => {
                tracing::warn!(port = bound, error = %e, "[::1] half of a localhost port is taken; trying another port");
            }
            Err(e) => return Err(in_use(bound, &format!("[::1]:{bound}"), e)),
        }
    }
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET {
        return Ok(render(&not_found()));
    }
    if req.uri().path() == shared.launch_path {
        return Ok(launch(&shared).await);
    }
    let Some((_, tx)) = shared
        .callback
        .as_ref()
        .filter(|(path, _)| req.uri().path() == path)
    else {
        return Ok(render(&not_found()));
    };
    let params: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let (reply, answer) = oneshot::channel();
    let gone = Page {
        status: 410,
        title: "Sign-in no longer pending",
        text: "This sign-in is no longer waiting. Start it again from Connected Accounts.".into(),
    };
    if tx.send(Callback { params, reply }).await.is_err() {
        return Ok(render(&gone));
    }
    Ok(render(&answer.await.unwrap_or(gone)))
}

fn not_found() -> Page {
    Page {
        status: 404,
        title: "Not found",
        text: "Nothing here.".into(),
    }
}

/// The launcher: the first fetch that can be sent on gets a 302; later ones are told it was used.
async fn launch(shared: &Shared) -> Response<Full<Bytes>> {
    let mut launched = shared.launched.lock().await;
    if *launched {
        return render(&Page {
            status: 410,
            title: "Sign-in link already used",
            text: "This sign-in link was already opened. Finish signing in in the tab it opened, \
                   or start again from Connected Accounts."
                .into(),
        });
    }
    match (shared.launch)().await {
        Ok(url) => {
            *launched = true;
            Response::builder()
                .status(StatusCode::FOUND)
                .header("location", url)
                .header("cache-control", "no-store")
                .header("referrer-policy", "no-referrer")
                .header("connection", "close")
                .body(Full::new(Bytes::new()))
                .unwrap_or_else(|_| render(&not_found()))
        }
        Err(e) => {
            tracing::warn!(error = %e.detailed(), "the sign-in could not be started");
            render(&Page {
                status: 502,
                title: "The sign-in could not start",
                text: format!("{} {}", e.message, e.hint.clone().unwrap_or_default()),
            })
        }
    }
}

fn render(page: &Page) -> Response<Full<Bytes>> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>",
        title = escape(page.title),
        text = escape(&page.text),
    );
    Response::builder()
        .status(StatusCode::from_u16(page.status).unwrap_or(StatusCode::OK))
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        )
        .header("connection", "close")
        .body(Full::new(Bytes::from(body)))
        .expect("static response")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A callback listener for the listener's tests: its launcher goes to example.com.
#[cfg(test)]
impl Listener {
    pub(crate) async fn bind(tx: mpsc::Sender<Callback>, rules: &RedirectRules) -> Result<Self> {
        Ok(Bound::new(rules).await?.serve(Routes {
            callback: Some(tx),
            launch: launch_to("https://example.com/authorize?state=s".into()),
            on_refused: Arc::new(|_| {}),
        }))
    }
}

/// Redirect rules for the listener's tests.
#[cfg(test)]
pub(crate) fn test_rules(host: LoopbackHost, path: &str) -> RedirectRules {
    RedirectRules {
        kinds: vec![],
        loopback_host: host,
        path: path.into(),
        fixed_port: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn raw(port: u16, request: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_only_the_callback_path_on_loopback() {
        let (tx, mut rx) = mpsc::channel(4);
        let rules = test_rules(LoopbackHost::Ipv4, "/callback");
        let l = Listener::bind(tx, &rules).await.unwrap();
        assert!(l.redirect_uri.starts_with("http://127.0.0.1:"));
        assert!(l.redirect_uri.ends_with("/callback"));
        let port: u16 = l.redirect_uri[17..]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();

        let stray = raw(port, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(stray.starts_with("HTTP/1.1 404"), "{stray}");
        assert!(rx.try_recv().is_err(), "a stray path reached the flow");

        let garbage = raw(port, "\x16\x03\x01garbage\r\n\r\n").await;
        assert!(
            garbage.is_empty() || garbage.starts_with("HTTP/1.1 400"),
            "{garbage}"
        );

        let answer = tokio::spawn(async move {
            let cb = rx.recv().await.unwrap();
            assert_eq!(cb.params.get("code").map(String::as_str), Some("abc"));
            assert_eq!(cb.params.get("state").map(String::as_str), Some("s 1"));
            cb.reply
                .send(Page {
                    status: 200,
                    title: "Done",
                    text: "<ok>".into(),
                })
                .unwrap();
        });
        let ok = raw(
            port,
            "GET /callback?code=abc&state=s%201 HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        answer.await.unwrap();
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.contains("cache-control: no-store"));
        assert!(ok.contains("&lt;ok&gt;"), "page text is escaped");

        drop(l);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err());
    }
}

#[cfg(test)]
mod host_form_tests {
    use super::*;

    #[tokio::test]
    async fn localhost_listens_on_both_loopback_addresses_on_one_port() {
        let (tx, _rx) = mpsc::channel(4);
        let rules = test_rules(LoopbackHost::Localhost, "/auth/done");
        let l = Listener::bind(tx, &rules).await.unwrap();
        assert!(
            l.redirect_uri.starts_with("http://localhost:"),
            "{}",
            l.redirect_uri
        );
        assert!(l.redirect_uri.ends_with("/auth/done"));
        let port: u16 = l.redirect_uri[17..]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok());
        if std::net::TcpListener::bind("[::1]:0").is_ok() {
            assert!(tokio::net::TcpStream::connect(("::1", port)).await.is_ok());
        }
    }

    /// Another program holding `[::1]:PORT` would get the code from a browser that tries IPv6
    /// first: that port is refused, never half-used.
    #[tokio::test]
    async fn a_taken_ipv6_half_of_localhost_is_fatal_for_that_port() {
        let Ok(squatter) = std::net::TcpListener::bind("[::1]:0") else {
            return; // no IPv6 loopback on this machine
        };
        let taken = squatter.local_addr().unwrap().port();
        // A fixed port: a clear error naming it.
        let mut rules = test_rules(LoopbackHost::Localhost, "/callback");
        rules.fixed_port = Some(taken);
        let (tx, _rx) = mpsc::channel(4);
        let err = Listener::bind(tx, &rules).await.err().expect("refused");
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(
            err.message
                .contains(&format!("port {taken} ([::1]:{taken})")),
            "{}",
            err.message
        );
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", taken)).is_ok(),
            "the 127.0.0.1 half was let go"
        );
        // Ephemeral ports: whatever pair is chosen, both halves are ours.
        for _ in 0..20 {
            let (tx, _rx) = mpsc::channel(4);
            let l = Listener::bind(tx, &test_rules(LoopbackHost::Localhost, "/callback"))
                .await
                .unwrap();
            let port: u16 = l.redirect_uri[17..]
                .split('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert_ne!(port, taken);
            assert!(
                std::net::TcpListener::bind(("::1", port)).is_err(),
                "[::1]:{port} is ours"
            );
        }
    }

    #[tokio::test]
    async fn ipv6_form_binds_ipv6_loopback_only() {
        if std::net::TcpListener::bind("[::1]:0").is_err() {
            return; // no IPv6 loopback on this machine
        }
        let (tx, _rx) = mpsc::channel(4);
        let rules = test_rules(LoopbackHost::Ipv6, "/callback");
        let l = Listener::bind(tx, &rules).await.unwrap();
        assert!(
            l.redirect_uri.starts_with("http://[::1]:"),
            "{}",
            l.redirect_uri
        );
    }
}

#[cfg(test)]
mod hostile_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn slow_and_many_connections_do_not_block_the_real_callback() {
        let (tx, mut rx) = mpsc::channel(4);
        let rules = test_rules(LoopbackHost::Ipv4, "/callback");
        let l = Listener::bind(tx, &rules).await.unwrap();
        let port: u16 = l.redirect_uri[17..]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // More idle connections than the listener serves at once, and one that trickles a header.
        let mut idle = Vec::new();
        for _ in 0..(MAX_CONNECTIONS * 3) {
            idle.push(
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap(),
            );
        }
        let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        slow.write_all(b"GET /callback?state=").await.unwrap();
        let answer = tokio::spawn(async move {
            let cb = rx.recv().await.unwrap();
            assert_eq!(cb.params.get("code").map(String::as_str), Some("real"));
            cb.reply
                .send(Page {
                    status: 200,
                    title: "Done",
                    text: "ok".into(),
                })
                .unwrap();
        });
        // The real browser's callback still gets through (idle clients are cut off after the
        // header timeout, freeing their slots).
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.write_all(b"GET /callback?code=real&state=s HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        tokio::time::timeout(Duration::from_secs(20), s.read_to_string(&mut out))
            .await
            .unwrap()
            .unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        answer.await.unwrap();
        drop(idle);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod peer_tests {
    use super::*;
    use std::sync::Mutex;

    fn port_of(url: &str) -> u16 {
        url::Url::parse(url).unwrap().port().unwrap()
    }

    /// `curl`-like GET through Python as uid 65534 (needs root, as CI runs): status and body.
    fn get_as_nobody(url: &str) -> String {
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "this test acts as uid 65534 through setpriv, which needs root"
        );
        let script = "import sys,urllib.request,urllib.error\n\
            try:\n  r=urllib.request.urlopen(sys.argv[1],timeout=5); print(r.status, r.read().decode())\n\
            except urllib.error.HTTPError as e: print(e.code, e.read().decode())\n";
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["/usr/bin/python3", "-c", script, url])
            .env("no_proxy", "*")
            .output()
            .expect("run setpriv (util-linux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn another_user_gets_403_and_uses_up_nothing() {
        let (tx, mut rx) = mpsc::channel(4);
        let refused = Arc::new(Mutex::new(Vec::new()));
        let l = Bound::new(&test_rules(LoopbackHost::Ipv4, "/callback"))
            .await
            .unwrap()
            .serve(Routes {
                callback: Some(tx),
                launch: launch_to("https://example.com/authorize?state=s".into()),
                on_refused: {
                    let refused = refused.clone();
                    Arc::new(move |d| refused.lock().unwrap().push(d))
                },
            });
        assert!(l.launch_url.contains("/start/"), "{}", l.launch_url);
        let (launch, callback) = (
            l.launch_url.clone(),
            format!("{}?code=c&state=s", l.redirect_uri),
        );
        let (a, b) =
            tokio::task::spawn_blocking(move || (get_as_nobody(&launch), get_as_nobody(&callback)))
                .await
                .unwrap();
        for answer in [&a, &b] {
            assert!(
                answer.starts_with("403 This sign-in belongs to another user"),
                "{answer}"
            );
        }
        assert!(
            rx.try_recv().is_err(),
            "another user's callback reached the flow"
        );
        let audited = refused.lock().unwrap().clone();
        assert_eq!(audited.len(), 2, "{audited:?}");
        assert!(audited[0].contains("uid 65534"), "{audited:?}");

        // Our own browser still gets the launcher (once), and the callback path.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let first = client.get(&l.launch_url).send().await.unwrap();
        assert_eq!(first.status(), 302);
        assert_eq!(
            first.headers()["location"],
            "https://example.com/authorize?state=s"
        );
        let again = client.get(&l.launch_url).send().await.unwrap();
        assert_eq!(again.status(), 410, "the launcher works once");
        let answer = tokio::spawn(async move {
            let cb = rx.recv().await.unwrap();
            cb.reply
                .send(Page {
                    status: 200,
                    title: "Done",
                    text: "ok".into(),
                })
                .unwrap();
        });
        let ok = client
            .get(format!("{}?code=c&state=s", l.redirect_uri))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        answer.await.unwrap();
        assert_eq!(port_of(&l.launch_url), port_of(&l.redirect_uri));
    }

    #[tokio::test]
    async fn a_launcher_only_listener_has_no_callback_path() {
        let l = Bound::launcher_only().await.unwrap().serve(Routes {
            callback: None,
            launch: launch_to("https://example.com/device?user_code=ABCD".into()),
            on_refused: Arc::new(|_| {}),
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{}", port_of(&l.launch_url));
        for stray in ["/", "/callback?code=c&state=s", "/start/guess"] {
            let r = client.get(format!("{base}{stray}")).send().await.unwrap();
            assert_eq!(r.status(), 404, "{stray}");
        }
        let r = client.get(&l.launch_url).send().await.unwrap();
        assert_eq!(r.status(), 302);
    }
}
