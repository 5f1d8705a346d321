#!/usr/bin/env bash
# Runs Connected Accounts with a local demo authorization server, so every button works without
# registering an app anywhere. Everything lives in a "demo" profile of its own (own data dir, own
# keychain namespace), never mixed with your real accounts.
#   scripts/demo.sh            the window; sign in at the demo server's page with any name/password
#   CA_DEMO_AUTO=1 scripts/demo.sh   a scripted browser signs in as "alice" for you
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/connected-accounts/target}"
export CONNECTED_ACCOUNTS_PROFILE=demo
DEMO_PORT="${CA_DEMO_PORT:-4780}"
ISSUER="http://127.0.0.1:$DEMO_PORT"

scripts/install-deps.sh
app="$CARGO_TARGET_DIR/debug/connected-accounts-app"
cli="$CARGO_TARGET_DIR/debug/connected-accounts"
echo "demo: building the app (the first build takes several minutes)" >&2
cargo build --quiet -p connected-accounts
npx --no-install tauri build --debug --no-bundle >/dev/null

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "demo: no display. Run it from a desktop session, or headless with: xvfb-run -a scripts/demo.sh" >&2
  exit 1
fi

# The demo authorization server (oidc-provider), on a fixed loopback port. It binds the port
# before its keys exist and answers 503 until then: wait for its ready line, not for the port.
if ! (exec 3<>"/dev/tcp/127.0.0.1/$DEMO_PORT") 2>/dev/null; then
  idp_dir=$(mktemp -d -t connected-accounts-demo-idp.XXXXXX)
  IDP_PORT=$DEMO_PORT node tests/idp/server.mjs >"$idp_dir/ready" 2>"$idp_dir/log" &
  idp=$!
  stop_idp() {
    kill "$idp" 2>/dev/null || true
    wait "$idp" 2>/dev/null || true
    rm -rf "$idp_dir"
  }
  trap stop_idp EXIT
  # The one line on its stdout, {"issuer":…,"port":…}, is written once it answers requests.
  for _ in $(seq 1 100); do
    grep -q '"issuer"' "$idp_dir/ready" && break
    kill -0 "$idp" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '"issuer"' "$idp_dir/ready"; then
    if kill -0 "$idp" 2>/dev/null; then
      echo "demo: the demo server did not become ready within 10 s; its log:" >&2
    else
      echo "demo: the demo server stopped before it was ready; its log:" >&2
    fi
    sed 's/^/  /' "$idp_dir/log" >&2
    exit 1
  fi
fi
# Read whole before matching: `grep -q` stops reading at its match, and under pipefail the
# command's broken pipe would then count as "not found" and add the provider a second time.
providers=$("$cli" providers --json)
if ! grep -q '"id": *"local-demo"' <<<"$providers"; then
  "$cli" providers add --issuer "$ISSUER" --client-id connected-accounts-demo --name "Local demo" >/dev/null
fi
if [ "${CA_DEMO_AUTO:-}" = 1 ]; then
  export BROWSER="python3 $root/tests/idp/browser.py"
fi

echo "demo: demo server at $ISSUER; any name and password sign in. Ctrl-C stops the demo." >&2
# Use the desktop's Secret Service; with none running, a private one for this demo only.
has_secret_service() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] &&
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true
}
if has_secret_service; then
  "$app"
else
  echo "demo: no Secret Service running; using a private keyring that ends with the demo" >&2
  tests/with-keyring.sh "$app"
fi
