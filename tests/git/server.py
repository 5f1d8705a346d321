#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Real git over HTTP for the credential helper's tests: `git http-backend` behind a loopback
server that lets a request in only when its credential works at the test authorization server.

    python3 tests/git/server.py --root DIR --userinfo URL [--log FILE]

* The password of HTTP Basic (or a Bearer token) is checked at URL, the server's userinfo
  endpoint; the `sub` it answers is the user. Without one that works: 401 with
  `WWW-Authenticate: Basic`, as GitHub and GitLab answer.
* Repositories are DIR/OWNER/NAME.git, and only OWNER may read or push them (403 for others).
* Prints {"port": N} on stdout once it listens; exits when stdin closes. With --log, one JSON
  line per request: method, path, user (or null), status.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ARGS = None
LOG_LOCK = threading.Lock()


def user_of(authorization):
    """The `sub` the authorization server gives for the request's credential, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(value).decode().partition(":")[2]
        except ValueError:
            return None
    elif scheme.lower() == "bearer":
        token = value
    else:
        return None
    request = urllib.request.Request(ARGS.userinfo, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.load(reply).get("sub")
    except (urllib.error.URLError, ValueError):
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, user, status):
        if ARGS.log:
            with LOG_LOCK, open(ARGS.log, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path, "user": user,
                                    "status": status}) + "\n")

    def answer(self, status, headers=(), body=b""):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_git(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        user = user_of(self.headers.get("Authorization"))
        if user is None:
            self.record(None, 401)
            return self.answer(401, [("WWW-Authenticate", 'Basic realm="git"')], b"who are you?\n")
        owner = url.path.strip("/").split("/")[0]
        if owner != user:
            self.record(user, 403)
            return self.answer(403, body=f"{user} may not use {owner}'s repositories\n".encode())
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": ARGS.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
        }
        for header in ("Content-Encoding", "Git-Protocol"):
            if header in self.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.record(user, status)
        self.answer(status, headers, payload)

    do_GET = handle_git
    do_POST = handle_git


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--userinfo", required=True)
    ap.add_argument("--log")
    ARGS = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
