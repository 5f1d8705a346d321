#!/usr/bin/env bash
# Builds the Linux installers, a .deb and an .rpm, each carrying the window
# (/usr/bin/connected-accounts-app) and the command line (/usr/bin/connected-accounts).
#   scripts/package.sh            → prints the paths of the two packages (last two lines)
# Release profile (LTO, codegen-units 1, stripped). AppImage is left to the release workflow:
# its tooling downloads from GitHub, which these machines cannot reach.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/connected-accounts/target}"
export CARGO_TERM_COLOR=never

cargo build --release --locked -p connected-accounts
cli="$CARGO_TARGET_DIR/release/connected-accounts"
# The command line joins the window in both packages: merged into tauri.conf.json for this build.
extra=$(python3 - "$cli" <<'PY'
import json, sys
files = {"/usr/bin/connected-accounts": sys.argv[1]}
print(json.dumps({"bundle": {"linux": {"deb": {"files": files}, "rpm": {"files": files}}}}))
PY
)
npx --no-install tauri build --bundles deb,rpm --config "$extra" >&2
version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml","rb"))["workspace"]["package"]["version"])')
ls "$CARGO_TARGET_DIR"/release/bundle/deb/*_"${version}"_*.deb
ls "$CARGO_TARGET_DIR"/release/bundle/rpm/*-"${version}"-*.rpm
