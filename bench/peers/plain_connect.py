"""The floor for a connect: only the server's own round trips, with a plain HTTP client (urllib),
and one keychain write; no verification beyond the state.
    plain_connect.py METADATA_JSON CLIENT_ID SECRET_SIZE LABEL"""

import base64
import hashlib
import json
import secrets
import sys
import urllib.parse
import urllib.request

from common import Callback, store

meta_path, client_id, size, label = sys.argv[1:5]
meta = json.load(open(meta_path))
callback = Callback()
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
state = secrets.token_urlsafe(32)
query = urllib.parse.urlencode({
    "response_type": "code", "client_id": client_id, "redirect_uri": callback.redirect_uri,
    "scope": "openid profile email offline_access", "state": state, "nonce": secrets.token_urlsafe(32),
    "code_challenge": challenge, "code_challenge_method": "S256", "prompt": "consent",
})
params = callback.consent(f"{meta['authorization_endpoint']}?{query}")
assert params["state"] == state
form = urllib.parse.urlencode({
    "grant_type": "authorization_code", "code": params["code"], "redirect_uri": callback.redirect_uri,
    "client_id": client_id, "code_verifier": verifier,
}).encode()
with urllib.request.urlopen(meta["token_endpoint"], data=form) as r:
    token = json.load(r)
with urllib.request.urlopen(meta["jwks_uri"]) as r:
    json.load(r)
request = urllib.request.Request(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"})
with urllib.request.urlopen(request) as r:
    json.load(r)
store(label, token, int(size))
