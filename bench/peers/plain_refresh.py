"""The peer of the refresh storm: the same refresh requests (refresh tokens on stdin, one per
line) and one keychain write each, all in parallel with a plain HTTP client.
    plain_refresh.py TOKEN_ENDPOINT CLIENT_ID < refresh_tokens"""

import concurrent.futures
import json
import sys
import threading
import urllib.parse
import urllib.request

import secretstorage

endpoint, client_id = sys.argv[1:3]
tokens = [t for t in sys.stdin.read().split() if t]
local = threading.local()


def refresh(i_token):
    i, refresh_token = i_token
    form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token,
                                   "client_id": client_id}).encode()
    with urllib.request.urlopen(endpoint, data=form) as r:
        token = json.load(r)
    if not hasattr(local, "collection"):
        local.collection = secretstorage.get_default_collection(secretstorage.dbus_init())
    local.collection.create_item(f"bench storm {i}", {"service": "connected-accounts-bench", "username": f"storm{i}"},
                                 json.dumps(token).encode(), replace=True)


with concurrent.futures.ThreadPoolExecutor(16) as pool:
    list(pool.map(refresh, enumerate(tokens)))
