#!/usr/bin/env bash
# Installs what building, running and testing Connected Accounts needs on Debian/Ubuntu.
# Safe to run again: each step checks first. Uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  # build (toolchain.md)
  libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev pkg-config
  # the system's SQLite, which both binaries link (sqlx's sqlite-unbundled makes its bindings
  # with bindgen, hence libclang)
  libsqlite3-dev libclang-dev
  # run and test headless
  xvfb xauth webkit2gtk-driver dbus-daemon dbus-x11 x11-utils xdg-utils
  desktop-file-utils gnome-keyring libsecret-tools libglib2.0-bin python3-venv
  # a real notification server for the window test of "needs reconnect"
  dunst
  # the demo's test reads and presses the window through its accessibility tree (AT-SPI)
  at-spi2-core python3-gi gir1.2-atspi-2.0
  # inspect the .rpm (it cannot be installed on Debian)
  rpm
  # the git credential helper's tests (git http-backend) and the installed manual page
  git man-db
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  for i in 1 2 3 4 5; do
    if $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
      break
    fi
    echo "install-deps: apt failed (dpkg lock?), retrying in 5 s" >&2
    sleep 5
    [ "$i" = 5 ] && exit 1
  done
fi

# tauri-driver drives the real window over WebDriver in the E2E tests.
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "install-deps: cargo install tauri-driver" >&2
  cargo install tauri-driver --locked
fi

# npm packages: the Tauri CLI (root), the UI, and the test authorization server.
npm_install() {
  local dir=$1
  local stamp="$dir/node_modules/.installed-from-lock"
  if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then return; fi
  echo "install-deps: npm packages in $dir" >&2
  if [ "$dir" = . ]; then
    # The registry reachable here lacks @tauri-apps/cli's other-platform binaries, so the lock
    # cannot list them and `npm ci` refuses it; the versions are still pinned exactly.
    (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error)
  else
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  cp "$dir/package-lock.json" "$stamp"
}
for dir in . ui tests/idp; do npm_install "$dir"; done

# Python tools for the E2E driver, in a venv (Debian refuses system-wide pip).
VENV="${CA_VENV:-$PWD/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ -f tests/requirements.txt ] && ! cmp -s tests/requirements.txt "$VENV/.requirements"; then
  "$VENV/bin/pip" install -q -r tests/requirements.txt
  cp tests/requirements.txt "$VENV/.requirements"
fi
