//! The loopback redirect listener (RFC 8252 §7.3): 127.0.0.1, an ephemeral port, one path.
//!
//! It only parses HTTP (hyper) and hands each request on the callback path to the flow, which
//! decides; requests elsewhere get 404 with no side effect. Dropping the listener closes it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::catalog::{LoopbackHost, RedirectRules};
use crate::error::{Error, ErrorKind, Result};

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;

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

pub struct Listener {
    pub redirect_uri: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Listener {
    /// Binds loopback as the provider's rules say (127.0.0.1, [::1], or both for `localhost`;
    /// an ephemeral port unless one is fixed) and forwards callbacks on `rules.path` to `tx`.
    pub async fn bind(tx: mpsc::Sender<Callback>, rules: &RedirectRules) -> Result<Self> {
        let (listeners, port, host) = bind_addresses(rules).await?;
        let path: Arc<str> = Arc::from(rules.path.as_str());
        let redirect_uri = format!("http://{host}:{port}{path}");
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut tasks = Vec::new();
        for listener in listeners {
            let (tx, slots, path) = (tx.clone(), slots.clone(), path.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let Ok((stream, _)) = listener.accept().await else {
                        // e.g. out of file descriptors: back off rather than spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    let (tx, path) = (tx.clone(), path.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(req, tx.clone(), path.clone()));
                        let conn = http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(Duration::from_secs(3))
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service);
                        // A client that never finishes is cut off.
                        let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
                        drop(permit);
                    });
                }
            }));
        }
        Ok(Self {
            redirect_uri,
            tasks,
        })
    }
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
    tx: mpsc::Sender<Callback>,
    path: Arc<str>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET || req.uri().path() != &*path {
        return Ok(render(&Page {
            status: 404,
            title: "Not found",
            text: "Nothing here.".into(),
        }));
    }
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
