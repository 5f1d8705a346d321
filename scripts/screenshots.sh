#!/usr/bin/env bash
# Refreshes docs/screenshots/: the real window under Xvfb, against the real test server and a
# private keyring, in the light and the dark theme, at the default and the narrowest size.
# Pictures are for people (the README); no test compares pixels.
#   scripts/screenshots.sh            all of them, into docs/screenshots/
#   CA_SHOTS_DIR=/tmp/x scripts/screenshots.sh   somewhere else
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/connected-accounts/target}"

scripts/install-deps.sh
.venv/bin/pip install -q -r tests/e2e/shots-requirements.txt
cargo build --quiet -p connected-accounts
npx --no-install tauri build --debug --no-bundle >/dev/null

for theme in light dark; do
  # WebKitGTK answers prefers-color-scheme from the GTK theme's variant.
  gtk_theme=Adwaita
  [ "$theme" = dark ] && gtk_theme=Adwaita:dark
  GTK_THEME=$gtk_theme CA_SHOTS_THEME=$theme \
    tests/with-keyring.sh .venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e/shots.py
done
ls -l "${CA_SHOTS_DIR:-docs/screenshots}"
