"""The field's reference library doing the app's connect: PKCE authorization code flow with a
loopback redirect, the same scripted consent, the token exchange, the ID token verified against
the server's keys (iss, aud, nonce, signature), the userinfo call, one keychain write.
    authlib_connect.py METADATA_JSON CLIENT_ID SECRET_SIZE LABEL"""

import json
import secrets
import sys

from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

from common import Callback, store

meta_path, client_id, size, label = sys.argv[1:5]
meta = json.load(open(meta_path))
callback = Callback()
session = OAuth2Session(client_id, scope="openid profile email offline_access",
                        redirect_uri=callback.redirect_uri, code_challenge_method="S256")
verifier = secrets.token_urlsafe(48)
nonce = secrets.token_urlsafe(32)
url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                              nonce=nonce, prompt="consent")
params = callback.consent(url)
assert params["state"] == state and params.get("iss") == meta["issuer"], params
token = session.fetch_token(meta["token_endpoint"], code=params["code"], code_verifier=verifier)
keys = JsonWebKey.import_key_set(session.get(meta["jwks_uri"]).json())
claims = jwt.decode(token["id_token"], keys, claims_options={
    "iss": {"essential": True, "value": meta["issuer"]},
    "aud": {"essential": True, "value": client_id},
    "nonce": {"essential": True, "value": nonce},
})
claims.validate()
me = session.get(meta["userinfo_endpoint"]).json()
assert me["sub"] == claims["sub"]
store(label, dict(token), int(size))
