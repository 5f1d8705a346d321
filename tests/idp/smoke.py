#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Smoke check for tests/idp: server.mjs + browser.py, driven as a public PKCE client.

    python3 tests/idp/smoke.py [--runs N]

Starts server.mjs (IDP_PORT=0), reads its handshake line, runs the authorization
code flow through browser.py against a loopback callback listener of its own,
then exercises token exchange, userinfo, refresh rotation, reuse detection,
revocation, introspection, /__stats, the deny/ignore browser modes, the custom
scheme redirect, the device flow (browser.py on verification_uri_complete, token
polling at the RFC 8628 interval, approve and deny), the environment knobs and
shutdown. Finally it times N full
flows (default 10) and prints the median. Prints "N passed, M failed"; exits 1
on any failure. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import queue
import secrets
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.mjs")
BROWSER = os.path.join(HERE, "browser.py")
CLIENT_ID = "connected-accounts-demo"
CUSTOM_REDIRECT = "io.github.connectedaccounts:/oauth/callback"
SCOPE = "openid profile email offline_access"

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------------------
# Server process
# ---------------------------------------------------------------------------


class Idp:
    def __init__(self, env_extra: dict[str, str] | None = None, stdin_pipe: bool = False):
        env = dict(os.environ)
        env.setdefault("IDP_PORT", "0")
        env.update(env_extra or {})
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["node", SERVER],
            cwd=HERE,
            env=env,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.started = time.perf_counter()
        line = self._read_line(timeout=20)
        self.startup_s = time.perf_counter() - self.started
        self.handshake_raw = line
        info = json.loads(line)
        self.issuer, self.port = info["issuer"], info["port"]
        self.meta = http_json("GET", self.issuer + "/.well-known/openid-configuration")[1]

    def _read_line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no handshake line within {timeout}s; stderr: {self.stderr_text()}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise AssertionError(
                        f"server exited (rc={self.proc.wait()}) before the handshake; stderr: {self.stderr_text()}"
                    )
                buf += chunk
        line, _, rest = buf.partition(b"\n")
        self.extra_stdout = rest
        return line.decode()

    def more_stdout(self, wait: float = 0.0) -> bytes:
        """Whatever the server wrote to stdout after the handshake line (should be nothing)."""
        out = self.extra_stdout
        fd = self.proc.stdout.fileno()
        while True:
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                return out
            chunk = os.read(fd, 4096)
            if not chunk:
                return out
            out += chunk

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-3000:]

    def stats(self) -> dict:
        return http_json("GET", self.issuer + "/__stats")[1]

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop within 5 s")


# ---------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------


def http_json(method: str, url: str, form: dict | None = None, headers: dict | None = None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    req.add_header("Accept", "application/json")
    try:
        with OPENER.open(req, timeout=10) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    return status, (json.loads(body) if body.strip() else None)


class CallbackListener:
    """The app's loopback redirect listener, as a test double."""

    def __init__(self, host: str = "127.0.0.1"):
        self.hits: queue.Queue = queue.Queue()
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                parts = urllib.parse.urlsplit(self.path)
                hits.put((parts.path, dict(urllib.parse.parse_qsl(parts.query))))
                body = b"<!DOCTYPE html><title>Connected Accounts</title><p>You can close this tab.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(http.server.HTTPServer):
            address_family = family

        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.redirect_uri = f"http://{shown}:{self.port}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, timeout: float = 5.0):
        return self.hits.get(timeout=timeout)

    def empty_for(self, seconds: float) -> bool:
        try:
            self.hits.get(timeout=seconds)
            return False
        except queue.Empty:
            return True

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Request:
    def __init__(self, idp: Idp, redirect_uri: str, scope: str = SCOPE, prompt: str | None = "consent",
                 pkce: bool = True):
        self.verifier = b64url(secrets.token_bytes(48))
        self.state = b64url(secrets.token_bytes(16))
        self.nonce = b64url(secrets.token_bytes(16))
        self.redirect_uri = redirect_uri
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": self.state,
            "nonce": self.nonce,
        }
        if prompt:
            params["prompt"] = prompt
        if pkce:
            params["code_challenge"] = b64url(hashlib.sha256(self.verifier.encode()).digest())
            params["code_challenge_method"] = "S256"
        self.url = idp.meta["authorization_endpoint"] + "?" + urllib.parse.urlencode(params)


def run_browser(url: str, consent: str = "approve", login: str = "alice", log: str | None = None,
                extra_args: list[str] | None = None):
    env = dict(os.environ, CA_TEST_CONSENT=consent, CA_TEST_LOGIN=login)
    env.pop("CA_TEST_BROWSER_LOG", None)
    if log:
        env["CA_TEST_BROWSER_LOG"] = log
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, BROWSER, *(extra_args or []), url],
        env=env, capture_output=True, text=True, timeout=20,
    )
    return proc, time.perf_counter() - started


def token(idp: Idp, form: dict):
    return http_json("POST", idp.meta["token_endpoint"], form)


def exchange(idp: Idp, req: Request, code: str, verifier: str | None = None):
    return token(idp, {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": req.redirect_uri,
        "client_id": CLIENT_ID,
        "code_verifier": verifier or req.verifier,
    })


def refresh(idp: Idp, rt: str):
    return token(idp, {"grant_type": "refresh_token", "refresh_token": rt, "client_id": CLIENT_ID})


def introspect(idp: Idp, tok: str):
    return http_json("POST", idp.meta["introspection_endpoint"], {"token": tok, "client_id": CLIENT_ID})


def authorize(idp: Idp, cb: CallbackListener, **kw):
    """Full browser leg: returns (request, callback params)."""
    req = Request(idp, cb.redirect_uri, **kw)
    proc, _ = run_browser(req.url)
    assert proc.returncode == 0, f"browser.py rc={proc.returncode}: {proc.stderr}"
    path, params = cb.take()
    assert path == "/callback", path
    return req, params


# --- RS256 verification with the standard library (PKCS#1 v1.5, SHA-256) ---

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def verify_rs256(jwt: str, jwks: dict) -> dict:
    head_b64, payload_b64, sig_b64 = jwt.split(".")
    header = json.loads(b64url_decode(head_b64))
    assert header["alg"] == "RS256", header
    key = next(k for k in jwks["keys"] if k.get("kid") == header.get("kid"))
    n = int.from_bytes(b64url_decode(key["n"]), "big")
    e = int.from_bytes(b64url_decode(key["e"]), "big")
    k = (n.bit_length() + 7) // 8
    em = pow(int.from_bytes(b64url_decode(sig_b64), "big"), e, n).to_bytes(k, "big")
    digest = hashlib.sha256(f"{head_b64}.{payload_b64}".encode()).digest()
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(SHA256_DIGEST_INFO) - 32) + b"\x00" + SHA256_DIGEST_INFO + digest
    assert em == expected, "id_token signature does not verify"
    return json.loads(b64url_decode(payload_b64))


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


class Ctx:
    idp: Idp
    cb: CallbackListener
    tmp: str


def case_handshake(c: Ctx):
    info = json.loads(c.idp.handshake_raw)
    assert set(info) == {"issuer", "port"}, info
    assert info["issuer"] == f"http://127.0.0.1:{info['port']}" and info["port"] > 0, info
    m = c.idp.meta
    assert m["issuer"] == c.idp.issuer, m["issuer"]
    assert m["authorization_response_iss_parameter_supported"] is True
    assert m["code_challenge_methods_supported"] == ["S256"], m["code_challenge_methods_supported"]
    # api:read and api:write are the loopback test APIs' scopes (resource indicators).
    assert set(m["scopes_supported"]) == {"openid", "profile", "email", "offline_access", "api:read", "api:write"}
    assert "registration_endpoint" not in m, "registration is off unless IDP_REGISTRATION says"
    assert "dpop_signing_alg_values_supported" not in m, "DPoP is off unless IDP_DPOP says"
    for key in ("revocation_endpoint", "introspection_endpoint", "userinfo_endpoint",
                "device_authorization_endpoint", "jwks_uri"):
        assert key in m, key
    assert "urn:ietf:params:oauth:grant-type:device_code" in m["grant_types_supported"]


def case_full_flow(c: Ctx):
    before = c.idp.stats()
    log = os.path.join(c.tmp, "browser.log")
    req = Request(c.idp, c.cb.redirect_uri)
    proc, _ = run_browser(req.url, log=log)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "", proc.stdout
    path, cbp = c.cb.take()
    assert path == "/callback" and cbp["state"] == req.state, cbp
    assert cbp["iss"] == c.idp.issuer, cbp
    assert cbp.get("code"), cbp

    line = open(log, encoding="utf-8").read().strip()
    assert "mode=approve" in line and "status=200" in line, line
    assert "code=REDACTED" in line and "state=REDACTED" in line, line
    assert cbp["code"] not in line and req.state not in line, "log leaks code/state"

    status, tok = exchange(c.idp, req, cbp["code"])
    assert status == 200, (status, tok)
    assert tok["token_type"].lower() == "bearer", tok
    assert tok.get("refresh_token") and tok.get("id_token") and tok.get("access_token"), tok
    assert set(tok["scope"].split()) == set(SCOPE.split()), tok["scope"]
    assert tok["expires_in"] == 3600, tok["expires_in"]

    jwks = http_json("GET", c.idp.meta["jwks_uri"])[1]
    claims = verify_rs256(tok["id_token"], jwks)
    assert claims["iss"] == c.idp.issuer and claims["aud"] == CLIENT_ID, claims
    assert claims["sub"] == "alice" and claims["nonce"] == req.nonce, claims
    assert claims["exp"] - claims["iat"] == 3600, claims

    status, ui = http_json("GET", c.idp.meta["userinfo_endpoint"],
                           headers={"Authorization": "Bearer " + tok["access_token"]})
    assert status == 200, (status, ui)
    assert ui == {"sub": "alice", "name": "Alice Example", "email": "alice@example.test",
                  "email_verified": True}, ui

    status, tok2 = refresh(c.idp, tok["refresh_token"])
    assert status == 200, (status, tok2)
    assert tok2["refresh_token"] != tok["refresh_token"], "refresh token not rotated"
    assert tok2["access_token"] != tok["access_token"]
    assert tok2.get("id_token"), tok2

    status, body = http_json("POST", c.idp.meta["revocation_endpoint"],
                             {"token": tok2["refresh_token"], "token_type_hint": "refresh_token",
                              "client_id": CLIENT_ID})
    assert status == 200, (status, body)
    status, intro = introspect(c.idp, tok2["refresh_token"])
    assert status == 200 and intro == {"active": False}, (status, intro)
    status, intro = introspect(c.idp, tok2["access_token"])
    assert status == 200 and intro == {"active": False}, ("access token survived revocation", intro)
    status, err = refresh(c.idp, tok2["refresh_token"])
    assert status == 400 and err["error"] == "invalid_grant", (status, err)

    after = c.idp.stats()
    delta = {k: after[k] - before[k] for k in after if isinstance(after[k], int)}
    assert delta["auth_code_success"] == 1, delta
    assert delta["refresh_success"] == 1, delta
    assert delta["revocation_success"] == 1 and delta["revocation_requests"] == 1, delta
    assert delta["auth_code_error"] == 0 and delta["refresh_error"] == 1, delta
    assert delta["userinfo_success"] == 1 and delta["introspection_success"] == 2, delta
    assert delta["grant_revoked"] >= 1, delta


def case_refresh_reuse(c: Ctx):
    before = c.idp.stats()
    req, cbp = authorize(c.idp, c.cb)
    status, tok = exchange(c.idp, req, cbp["code"])
    assert status == 200, tok
    status, tok2 = refresh(c.idp, tok["refresh_token"])
    assert status == 200, tok2
    # Replaying the rotated token is detected and kills the whole grant ...
    status, err = refresh(c.idp, tok["refresh_token"])
    assert status == 400 and err["error"] == "invalid_grant", (status, err)
    # ... including the newest refresh token.
    status, err = refresh(c.idp, tok2["refresh_token"])
    assert status == 400 and err["error"] == "invalid_grant", (status, err)
    after = c.idp.stats()
    assert after["refresh_reuse_detected"] - before["refresh_reuse_detected"] == 1, after
    assert after["refresh_success"] - before["refresh_success"] == 1, after


def case_code_reuse(c: Ctx):
    before = c.idp.stats()
    req, cbp = authorize(c.idp, c.cb)
    status, tok = exchange(c.idp, req, cbp["code"])
    assert status == 200, tok
    # Redeeming the code a second time fails and revokes what the first redemption issued.
    status, err = exchange(c.idp, req, cbp["code"])
    assert status == 400 and err["error"] == "invalid_grant", (status, err)
    status, intro = introspect(c.idp, tok["access_token"])
    assert intro == {"active": False}, intro
    status, err = refresh(c.idp, tok["refresh_token"])
    assert status == 400 and err["error"] == "invalid_grant", (status, err)
    after = c.idp.stats()
    assert after["code_reuse_detected"] - before["code_reuse_detected"] == 1, after


def case_revocation_unknown_token(c: Ctx):
    before = c.idp.stats()
    status, _ = http_json("POST", c.idp.meta["revocation_endpoint"],
                          {"token": "not-a-real-token", "client_id": CLIENT_ID})
    assert status == 200, status
    after = c.idp.stats()
    assert after["revocation_requests"] - before["revocation_requests"] == 1, after
    assert after["revocation_success"] == before["revocation_success"], after


def case_deny(c: Ctx):
    before = c.idp.stats()
    log = os.path.join(c.tmp, "deny.log")
    req = Request(c.idp, c.cb.redirect_uri)
    proc, _ = run_browser(req.url, consent="deny", log=log)
    assert proc.returncode == 0, proc.stderr
    _, cbp = c.cb.take()
    assert cbp.get("error") == "access_denied", cbp
    assert cbp["state"] == req.state and cbp["iss"] == c.idp.issuer, cbp
    assert "code" not in cbp, cbp
    assert "mode=deny" in open(log, encoding="utf-8").read()
    after = c.idp.stats()
    assert after["access_denied"] - before["access_denied"] == 1, after


def case_ignore(c: Ctx):
    log = os.path.join(c.tmp, "ignore.log")
    req = Request(c.idp, c.cb.redirect_uri)
    proc, took = run_browser(req.url, consent="ignore", log=log)
    assert proc.returncode == 0 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
    assert took < 1.0, took
    assert c.cb.empty_for(0.3), "ignore mode reached the callback"
    assert "mode=ignore" in open(log, encoding="utf-8").read()


def case_url_as_last_arg(c: Ctx):
    req = Request(c.idp, c.cb.redirect_uri)
    proc, _ = run_browser(req.url, extra_args=["--new-window"])
    assert proc.returncode == 0, proc.stderr
    _, cbp = c.cb.take()
    assert cbp["state"] == req.state and cbp.get("code"), cbp


def case_other_login(c: Ctx):
    req = Request(c.idp, c.cb.redirect_uri)
    proc, _ = run_browser(req.url, login="bob")
    assert proc.returncode == 0, proc.stderr
    _, cbp = c.cb.take()
    status, tok = exchange(c.idp, req, cbp["code"])
    assert status == 200, tok
    _, ui = http_json("GET", c.idp.meta["userinfo_endpoint"],
                      headers={"Authorization": "Bearer " + tok["access_token"]})
    assert ui["sub"] == "bob" and ui["name"] == "Bob Example" and ui["email"] == "bob@example.test", ui


def case_no_offline_without_consent_prompt(c: Ctx):
    req, cbp = authorize(c.idp, c.cb, prompt=None)
    status, tok = exchange(c.idp, req, cbp["code"])
    assert status == 200, tok
    assert "refresh_token" not in tok, "offline_access kept without prompt=consent"
    assert "offline_access" not in tok["scope"].split(), tok["scope"]


def case_custom_scheme(c: Ctx):
    req = Request(c.idp, CUSTOM_REDIRECT)
    proc, _ = run_browser(req.url)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    assert out.startswith(CUSTOM_REDIRECT + "?"), out
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(out).query))
    assert params["state"] == req.state and params.get("code"), params
    status, tok = exchange(c.idp, req, params["code"])
    assert status == 200 and tok.get("refresh_token"), tok


def case_ipv6_loopback(c: Ctx):
    try:
        cb6 = CallbackListener("::1")
    except OSError as exc:
        print(f"    (skipped: no IPv6 loopback: {exc})")
        return
    try:
        req, cbp = authorize(c.idp, cb6)
        assert cbp.get("code") and cbp["state"] == req.state, cbp
        status, tok = exchange(c.idp, req, cbp["code"])
        assert status == 200, tok
    finally:
        cb6.close()


def case_localhost_rejected(c: Ctx):
    req = Request(c.idp, f"http://localhost:{c.cb.port}/callback")
    proc, _ = run_browser(req.url)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "redirect_uri" in proc.stderr and "HTTP 400" in proc.stderr, proc.stderr
    assert c.cb.empty_for(0.2)


def case_pkce_required(c: Ctx):
    req, cbp = authorize(c.idp, c.cb, pkce=False)
    assert cbp.get("error") == "invalid_request" and "code" not in cbp, cbp
    assert "PKCE" in cbp.get("error_description", ""), cbp


def case_wrong_verifier(c: Ctx):
    req, cbp = authorize(c.idp, c.cb)
    status, err = exchange(c.idp, req, cbp["code"], verifier=b64url(secrets.token_bytes(48)))
    assert status == 400 and err["error"] == "invalid_grant", (status, err)


def case_callback_unreachable(c: Ctx):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    log = os.path.join(c.tmp, "dead.log")
    req = Request(c.idp, f"http://127.0.0.1:{dead_port}/callback")
    proc, _ = run_browser(req.url, log=log)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "refused" in proc.stderr.lower() and "code=REDACTED" in proc.stderr, proc.stderr
    assert "result=error" in open(log, encoding="utf-8").read()


def case_device_flow_starts(c: Ctx):
    before = c.idp.stats()
    status, dev = http_json("POST", c.idp.meta["device_authorization_endpoint"],
                            {"client_id": CLIENT_ID, "scope": "openid offline_access"})
    assert status == 200 and dev.get("device_code") and dev.get("user_code"), (status, dev)
    assert dev["verification_uri"].startswith(c.idp.issuer), dev
    status, err = token(c.idp, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                "device_code": dev["device_code"], "client_id": CLIENT_ID})
    assert status == 400 and err["error"] == "authorization_pending", (status, err)
    after = c.idp.stats()
    assert after["device_authorization_success"] - before["device_authorization_success"] == 1, after


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def device_authorize(idp: Idp, scope: str = SCOPE, client_id: str = CLIENT_ID) -> dict:
    status, dev = http_json("POST", idp.meta["device_authorization_endpoint"],
                            {"client_id": client_id, "scope": scope})
    assert status == 200, (status, dev)
    for key in ("device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in"):
        assert dev.get(key), (key, dev)
    return dev


def poll_device(idp: Idp, dev: dict, after_first_poll=None, max_wait: float = 40.0):
    """Poll the token endpoint as an RFC 8628 client does.

    Waits `interval` seconds (RFC 8628 section 3.2: 5 when the server sends none) between
    one response and the next request, and adds 5 s to it on `slow_down` (section 3.5).
    Returns (status, body, polls) where polls is a list of (sent_at, answered_at, outcome)."""
    interval = float(dev.get("interval", 5))
    deadline = time.monotonic() + min(max_wait, dev["expires_in"])
    polls: list[tuple[float, float, str]] = []
    while True:
        if polls:
            time.sleep(max(0.0, polls[-1][1] + interval - time.monotonic()))
        sent = time.monotonic()
        status, body = token(idp, {"grant_type": DEVICE_GRANT, "device_code": dev["device_code"],
                                   "client_id": CLIENT_ID})
        error = body.get("error") if status != 200 else None
        polls.append((sent, time.monotonic(), error or "tokens"))
        if len(polls) == 1 and after_first_poll:
            after_first_poll()
        if error == "slow_down":
            interval += 5
        elif error != "authorization_pending":
            return status, body, polls
        if time.monotonic() + interval > deadline:
            raise AssertionError(f"device authorization still pending after {len(polls)} polls")


def run_browser_async(url: str, consent: str = "approve", login: str = "alice", log: str | None = None,
                      user_code: str | None = None) -> subprocess.Popen:
    """Start browser.py the way the app would ($BROWSER URL) without waiting for it."""
    env = dict(os.environ, CA_TEST_CONSENT=consent, CA_TEST_LOGIN=login)
    env.pop("CA_TEST_BROWSER_LOG", None)
    env.pop("CA_TEST_USER_CODE", None)
    if log:
        env["CA_TEST_BROWSER_LOG"] = log
    if user_code:
        env["CA_TEST_USER_CODE"] = user_code
    return subprocess.Popen([sys.executable, BROWSER, url], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stats_delta(before: dict, after: dict) -> dict:
    delta = {k: after[k] - before[k] for k in after if isinstance(after[k], int)}
    errors = set(before["errors"]) | set(after["errors"])
    delta["errors"] = {k: after["errors"].get(k, 0) - before["errors"].get(k, 0) for k in errors
                       if after["errors"].get(k, 0) != before["errors"].get(k, 0)}
    return delta


def case_device_flow_browser(c: Ctx):
    # The app's device flow: POST /device/auth (no prompt parameter: the device
    # authorization endpoint does not take one), open verification_uri_complete with
    # $BROWSER, poll the token endpoint honouring `interval` until tokens arrive.
    before = c.idp.stats()
    log = os.path.join(c.tmp, "device.log")
    dev = device_authorize(c.idp)
    assert dev["verification_uri"] == c.idp.issuer + "/device", dev
    assert dev["verification_uri_complete"] == (
        dev["verification_uri"] + "?" + urllib.parse.urlencode({"user_code": dev["user_code"]})), dev
    browser: list[subprocess.Popen] = []
    status, tok, polls = poll_device(
        c.idp, dev, after_first_poll=lambda: browser.append(
            run_browser_async(dev["verification_uri_complete"], log=log)))
    out, err = browser[0].communicate(timeout=20)
    assert browser[0].returncode == 0 and out == "", (browser[0].returncode, out, err)
    assert status == 200, (status, tok, polls)

    # Polling: pending before the user acted, then tokens; never faster than the interval.
    outcomes = [p[2] for p in polls]
    assert outcomes[0] == "authorization_pending" and outcomes[-1] == "tokens", outcomes
    interval = dev.get("interval", 5)
    for (_, prev_answered, _), (sent, _, _) in zip(polls, polls[1:]):
        assert sent - prev_answered >= interval - 0.05, ("polled too fast", polls)

    # Tokens: offline_access is kept although no prompt=consent was (or could be) sent.
    assert tok["token_type"].lower() == "bearer" and tok["expires_in"] == 3600, tok
    assert tok.get("access_token") and tok.get("id_token") and tok.get("refresh_token"), tok
    assert set(tok["scope"].split()) == set(SCOPE.split()), tok["scope"]
    jwks = http_json("GET", c.idp.meta["jwks_uri"])[1]
    claims = verify_rs256(tok["id_token"], jwks)
    assert claims["iss"] == c.idp.issuer and claims["aud"] == CLIENT_ID and claims["sub"] == "alice", claims
    assert "nonce" not in claims, ("device-grant ID token carries a nonce", claims)
    assert claims["exp"] - claims["iat"] == 3600, claims
    status, ui = http_json("GET", c.idp.meta["userinfo_endpoint"],
                           headers={"Authorization": "Bearer " + tok["access_token"]})
    assert status == 200 and ui["sub"] == "alice" and ui["email"] == "alice@example.test", (status, ui)
    status, tok2 = refresh(c.idp, tok["refresh_token"])
    assert status == 200 and tok2["refresh_token"] != tok["refresh_token"] and tok2.get("id_token"), tok2
    assert "nonce" not in json.loads(b64url_decode(tok2["id_token"].split(".")[1])), tok2

    line = open(log, encoding="utf-8").read().strip()
    assert "mode=device consent=approve login=alice result=success" in line, line
    assert "user_code=REDACTED" in line and dev["user_code"] not in line, line

    delta = stats_delta(before, c.idp.stats())
    assert delta["device_authorization_success"] == 1 and delta["device_code_success"] == 1, delta
    assert delta["authorization_success"] == 1 and delta["interaction_started"] == 2, delta
    assert delta["refresh_success"] == 1, delta
    pending = outcomes.count("authorization_pending")
    assert delta["device_code_error"] == pending, delta
    assert delta["errors"] == {"grant.error:authorization_pending": pending}, delta


def case_device_plain_page_and_replay(c: Ctx):
    # verification_uri (no user_code in the URL) + CA_TEST_USER_CODE, typed sloppily
    # (lower case, no dash) the way a person might; another login.
    dev = device_authorize(c.idp)
    typed = dev["user_code"].replace("-", "").lower()
    proc = run_browser_async(dev["verification_uri"], login="bob", user_code=typed)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and out == "", (proc.returncode, out, err)
    status, tok, polls = poll_device(c.idp, dev)
    assert status == 200 and len(polls) == 1, (status, tok, polls)
    assert json.loads(b64url_decode(tok["id_token"].split(".")[1]))["sub"] == "bob", tok
    # The user code is spent: opening the link again is refused on the page.
    proc, _ = run_browser(dev["verification_uri_complete"])
    assert proc.returncode == 1 and "incorrect" in proc.stderr, (proc.returncode, proc.stderr)
    # Polling once more with the redeemed device_code: invalid_grant AND the grant is
    # revoked (same rule as authorization-code replay): stop polling after success.
    before = c.idp.stats()
    status, err = token(c.idp, {"grant_type": DEVICE_GRANT, "device_code": dev["device_code"],
                                "client_id": CLIENT_ID})
    assert status == 400 and err["error"] == "invalid_grant", (status, err)
    assert introspect(c.idp, tok["access_token"])[1] == {"active": False}, "replay did not revoke"
    status, err = refresh(c.idp, tok["refresh_token"])
    assert status == 400 and err["error"] == "invalid_grant", (status, err)
    assert c.idp.stats()["grant_revoked"] - before["grant_revoked"] >= 1


def case_device_deny(c: Ctx):
    before = c.idp.stats()
    log = os.path.join(c.tmp, "device-deny.log")
    dev = device_authorize(c.idp)
    # The user acts before the first poll here (saves an interval; the approve case
    # above covers polling while pending).
    proc, _ = run_browser(dev["verification_uri_complete"], consent="deny", log=log)
    assert proc.returncode == 0 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
    status, err, polls = poll_device(c.idp, dev)
    assert status == 400 and err["error"] == "access_denied", (status, err, polls)
    assert len(polls) == 1, polls
    # The denied device_code is spent.
    status, err = token(c.idp, {"grant_type": DEVICE_GRANT, "device_code": dev["device_code"],
                                "client_id": CLIENT_ID})
    assert status == 400 and err["error"] == "invalid_grant", (status, err)
    line = open(log, encoding="utf-8").read().strip()
    assert "mode=device consent=deny login=alice result=denied" in line, line
    delta = stats_delta(before, c.idp.stats())
    assert delta["device_code_success"] == 0 and delta["authorization_success"] == 0, delta
    assert delta["errors"] == {"grant.error:access_denied": 1, "grant.error:invalid_grant": 1}, delta
    # The abort ends on a re-rendered code-entry page, which emits no event: the
    # server's access_denied counter (authorization.error) does not see device denies.
    assert delta["access_denied"] == 0, delta


def case_device_browser_errors(c: Ctx):
    dev = device_authorize(c.idp, scope="openid")
    # Plain page without a code to type: bad usage.
    proc, _ = run_browser(dev["verification_uri"])
    assert proc.returncode == 2 and "CA_TEST_USER_CODE" in proc.stderr, (proc.returncode, proc.stderr)
    # A code the server does not know: the page says so, exit 1.
    proc, _ = run_browser(dev["verification_uri"] + "?user_code=BBBB-CCCC")
    assert proc.returncode == 1 and "incorrect" in proc.stderr, (proc.returncode, proc.stderr)
    assert "BBBB" not in proc.stderr, proc.stderr  # user_code REDACTED in messages
    # ignore: nothing happens, the device keeps waiting.
    proc, took = run_browser(dev["verification_uri_complete"], consent="ignore")
    assert proc.returncode == 0 and took < 1.0, (proc.returncode, proc.stderr, took)
    status, err = token(c.idp, {"grant_type": DEVICE_GRANT, "device_code": dev["device_code"],
                                "client_id": CLIENT_ID})
    assert status == 400 and err["error"] == "authorization_pending", (status, err)


def case_stats_reset(c: Ctx):
    status, body = http_json("POST", c.idp.issuer + "/__stats/reset", {})
    assert status == 200 and body["auth_code_success"] == 0 and body["errors"] == {}, body
    assert c.idp.stats()["refresh_success"] == 0


def case_env_knobs(c: Ctx):
    # A second server with every knob set, a fixed port and stdin-EOF shutdown.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    idp2 = Idp({"IDP_PORT": str(port), "IDP_CLIENT_ID": "other-client", "IDP_ACCESS_TTL": "7",
                "IDP_ID_TOKEN_TTL": "9", "IDP_REFRESH_TTL": "11", "IDP_EXIT_ON_STDIN_EOF": "1"},
               stdin_pipe=True)
    try:
        assert idp2.port == port and idp2.issuer == f"http://127.0.0.1:{port}", idp2.handshake_raw
        req = Request(idp2, c.cb.redirect_uri)
        req.url = req.url.replace(f"client_id={CLIENT_ID}", "client_id=other-client")
        proc, _ = run_browser(req.url)
        assert proc.returncode == 0, proc.stderr
        _, cbp = c.cb.take()
        status, tok = token(idp2, {"grant_type": "authorization_code", "code": cbp["code"],
                                   "redirect_uri": req.redirect_uri, "client_id": "other-client",
                                   "code_verifier": req.verifier})
        assert status == 200 and tok["expires_in"] == 7, (status, tok)
        payload = json.loads(b64url_decode(tok["id_token"].split(".")[1]))
        assert payload["exp"] - payload["iat"] == 9, payload
        status, intro = http_json("POST", idp2.meta["introspection_endpoint"],
                                  {"token": tok["refresh_token"], "client_id": "other-client"})
        assert intro["active"] and intro["exp"] - intro["iat"] == 11, intro
        # A broken IDP_* value is refused up front.
        bad = subprocess.run(["node", SERVER], cwd=HERE, env=dict(os.environ, IDP_ACCESS_TTL="soon"),
                             capture_output=True, text=True, timeout=20)
        assert bad.returncode == 1 and bad.stdout == "" and "IDP_ACCESS_TTL" in bad.stderr, bad
        # Closing stdin stops the server.
        idp2.proc.stdin.close()
        rc = idp2.proc.wait(timeout=5)
        assert rc == 0, (rc, idp2.stderr_text())
    finally:
        if idp2.proc.poll() is None:
            idp2.stop()


def case_stdout_is_one_line(c: Ctx):
    extra = c.idp.more_stdout(wait=0.2)
    assert extra == b"", f"server wrote more to stdout: {extra[:300]!r}"


def full_flow_once(idp: Idp, cb: CallbackListener) -> tuple[float, float]:
    t0 = time.perf_counter()
    req = Request(idp, cb.redirect_uri)
    proc, _ = run_browser(req.url)
    assert proc.returncode == 0, proc.stderr
    _, cbp = cb.take()
    t_browser = time.perf_counter() - t0
    status, tok = exchange(idp, req, cbp["code"])
    assert status == 200, tok
    status, tok2 = refresh(idp, tok["refresh_token"])
    assert status == 200, tok2
    return time.perf_counter() - t0, t_browser


def main() -> int:
    runs = 10
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])

    c = Ctx()
    c.tmp = tempfile.mkdtemp(prefix="ca-idp-smoke-")
    passed = failed = 0
    try:
        c.idp = Idp()
    except Exception as exc:  # noqa: BLE001
        print(f"FAIL server start: {exc}")
        print("0 passed, 1 failed")
        return 1
    print(f"# server {c.idp.issuer} up in {c.idp.startup_s * 1000:.0f} ms")
    c.cb = CallbackListener()

    cases = [
        case_handshake, case_full_flow, case_code_reuse, case_refresh_reuse, case_revocation_unknown_token,
        case_deny, case_ignore, case_url_as_last_arg, case_other_login,
        case_no_offline_without_consent_prompt, case_custom_scheme, case_ipv6_loopback,
        case_localhost_rejected, case_pkce_required, case_wrong_verifier, case_callback_unreachable,
        case_device_flow_starts, case_device_flow_browser, case_device_plain_page_and_replay,
        case_device_deny, case_device_browser_errors, case_stats_reset,
        case_env_knobs, case_stdout_is_one_line,
    ]
    for case in cases:
        name = case.__name__[5:]
        t0 = time.perf_counter()
        try:
            case(c)
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAIL {name}")
            print("    " + traceback.format_exc().strip().replace("\n", "\n    "))
        else:
            passed += 1
            print(f"ok   {name} ({(time.perf_counter() - t0) * 1000:.0f} ms)")

    # Timing: full flow = browser leg (login + consent + callback) + code exchange + one refresh.
    name = f"timing over {runs} full flows"
    try:
        full_flow_once(c.idp, c.cb)  # warm-up
        totals, browsers = [], []
        for _ in range(runs):
            total, browser = full_flow_once(c.idp, c.cb)
            totals.append(total)
            browsers.append(browser)
        print(f"ok   {name}: median {statistics.median(totals) * 1000:.1f} ms "
              f"(min {min(totals) * 1000:.1f}, max {max(totals) * 1000:.1f}); "
              f"browser.py leg median {statistics.median(browsers) * 1000:.1f} ms")
        passed += 1
    except Exception:  # noqa: BLE001
        failed += 1
        print(f"FAIL {name}")
        print("    " + traceback.format_exc().strip().replace("\n", "\n    "))

    # Clean shutdown on SIGTERM (and, separately, SIGINT).
    for sig in (signal.SIGTERM, signal.SIGINT):
        name = f"stops on {sig.name}"
        try:
            idp = c.idp if sig == signal.SIGTERM else Idp()
            t0 = time.perf_counter()
            rc = idp.stop(sig)
            assert rc == 0, (rc, idp.stderr_text())
            print(f"ok   {name} (rc=0 in {(time.perf_counter() - t0) * 1000:.0f} ms)")
            passed += 1
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAIL {name}")
            print("    " + traceback.format_exc().strip().replace("\n", "\n    "))

    c.cb.close()
    if failed:
        print("--- server stderr (tail) ---")
        print(c.idp.stderr_text())
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
