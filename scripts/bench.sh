#!/usr/bin/env bash
# The benchmark: nine figures, each against its peer, run side by side (bench/README.md).
# Builds what it needs first: the release packages (scripts/package.sh) and the bare Tauri app
# (bench/bare-tauri, the unmodified template) with this project's release profile.
#   scripts/bench.sh [--quick] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/connected-accounts/target}"
export CARGO_TERM_COLOR=never
scripts/install-deps.sh
# P8's peer, git's own libsecret helper, is built from git's contrib sources against libsecret.
if ! dpkg-query -W -f='${Status}' libsecret-1-dev 2>/dev/null | grep -q "install ok installed"; then
  $([ "$(id -u)" = 0 ] || echo sudo) apt-get install -y -q --no-install-recommends libsecret-1-dev >&2
fi
.venv/bin/pip install -q -r bench/requirements.txt

mapfile -t built < <(scripts/package.sh | tail -2)
deb="${built[0]}"

# The template's own release profile differs (opt-level 3, panic=abort): build it with ours.
bare_target="$CARGO_TARGET_DIR-bare"
(cd bench/bare-tauri && CARGO_TARGET_DIR="$bare_target" \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_PANIC=unwind \
  CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_STRIP=true \
  ../../node_modules/.bin/tauri build --bundles deb >&2)
bare_deb=$(ls "$bare_target"/release/bundle/deb/*.deb | head -1)

tests/with-keyring.sh .venv/bin/python bench/run.py \
  --app "$CARGO_TARGET_DIR/release/connected-accounts-app" \
  --cli "$CARGO_TARGET_DIR/release/connected-accounts" \
  --bare "$bare_target/release/bare-app" \
  --deb "$deb" --bare-deb "$bare_deb" "$@"
