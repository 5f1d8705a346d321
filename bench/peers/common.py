"""What the peers share: the loopback listener, the scripted consent (the same browser.py the app
is driven by) and one keychain write through the Secret Service (secretstorage)."""

import json
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

BROWSER = Path(__file__).resolve().parents[2] / "tests/idp/browser.py"


class Callback:
    """A one-shot loopback listener on 127.0.0.1 (an ephemeral port), like the app's."""

    def __init__(self):
        outer = self
        self.params = None

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"signed in")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.thread = threading.Thread(target=self.server.handle_request)
        self.thread.start()

    def consent(self, url):
        subprocess.run([sys.executable, str(BROWSER), url], check=True)
        self.thread.join(30)
        self.server.server_close()
        return self.params


def store(label, tokens, size):
    """One keychain item of `size` bytes (the app's entry for the same sign-in is that big)."""
    import secretstorage

    blob = json.dumps(tokens).encode()
    blob = blob + b" " * max(0, size - len(blob))
    connection = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(connection)
    collection.create_item(f"bench peer {label}", {"service": "connected-accounts-bench", "username": label},
                           blob, replace=True)
    connection.close()
