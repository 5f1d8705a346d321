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
# P1b compares like with like: the bare app's .deb repacked with xz as ours is, and ours without
# the command line (its binary, manual page and completions).
bare_deb="$bare_target/bare-app.xz.deb"
scripts/repack-deb.sh "$(ls "$bare_target"/release/bundle/deb/*.deb | head -1)" "$bare_deb"
window_deb="$bare_target/connected-accounts-window-only.deb"
scripts/repack-deb.sh "$deb" "$window_deb" /usr/bin/connected-accounts \
  /usr/share/man/man1/connected-accounts.1.gz \
  /usr/share/bash-completion/completions/connected-accounts \
  /usr/share/zsh/vendor-completions/_connected-accounts \
  /usr/share/fish/vendor_completions.d/connected-accounts.fish
# P1a's peer: GitHub CLI's .deb from the Debian archive, as apt downloads it.
gh_dir="$bare_target/gh"
mkdir -p "$gh_dir"
(cd "$gh_dir" && rm -f gh_*.deb && apt-get download -q gh >&2)
gh_deb=$(ls "$gh_dir"/gh_*.deb | head -1)

tests/with-keyring.sh .venv/bin/python bench/run.py \
  --app "$CARGO_TARGET_DIR/release/connected-accounts-app" \
  --cli "$CARGO_TARGET_DIR/release/connected-accounts" \
  --bare "$bare_target/release/bare-app" \
  --deb "$deb" --gh-deb "$gh_deb" --window-deb "$window_deb" --bare-deb "$bare_deb" "$@"
