#!/usr/bin/env bash
# Builds the Linux installers, a .deb and an .rpm, each carrying the window
# (/usr/bin/connected-accounts-app) and the command line (/usr/bin/connected-accounts).
#   scripts/package.sh            → prints the paths of the two packages (last two lines)
#   scripts/package.sh --debug    → the same .deb from the dev profile, for the upgrade test
# Release profile (LTO, codegen-units 1, stripped). AppImage is left to the release workflow:
# its tooling downloads from GitHub, which these machines cannot reach.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/connected-accounts/target}"
export CARGO_TERM_COLOR=never

# The dev profile reuses the dependencies the tests and the window's debug build compiled, and
# links in seconds where the release profile's LTO takes minutes per binary.
profile=release cargo_profile=(--release) tauri_profile=() bundles=deb,rpm
if [ "${1:-}" = --debug ]; then
  profile=debug cargo_profile=() tauri_profile=(--debug) bundles=deb
fi

# Both binaries in one cargo run: the core is compiled once for both (two runs would resolve two
# feature sets and compile it, and its dependencies, twice), and the two release links (LTO, one
# core each) run side by side. `tauri bundle` then packages them; the window embeds ui/dist,
# built first as `tauri build` would (its beforeBuildCommand).
(cd ui && npm run --silent build)
cargo build "${cargo_profile[@]}" --locked -p connected-accounts -p connected-accounts-app \
  --features connected-accounts-app/custom-protocol
cli="$CARGO_TARGET_DIR/$profile/connected-accounts"
# Its manual page and shell completions, generated from the command line's own grammar.
docs="$CARGO_TARGET_DIR/$profile/cli-docs"
mkdir -p "$docs"
"$cli" man | gzip -9n >"$docs/connected-accounts.1.gz"
for shell in bash zsh fish; do "$cli" completions "$shell" >"$docs/completion.$shell"; done
# The command line joins the window in both packages: merged into tauri.conf.json for this build.
extra=$(python3 - "$cli" "$docs" <<'PY'
import json, sys
docs = sys.argv[2]
files = {
    "/usr/bin/connected-accounts": sys.argv[1],
    "/usr/share/man/man1/connected-accounts.1.gz": f"{docs}/connected-accounts.1.gz",
    "/usr/share/bash-completion/completions/connected-accounts": f"{docs}/completion.bash",
    "/usr/share/zsh/vendor-completions/_connected-accounts": f"{docs}/completion.zsh",
    "/usr/share/fish/vendor_completions.d/connected-accounts.fish": f"{docs}/completion.fish",
}
print(json.dumps({"bundle": {"linux": {"deb": {"files": files}, "rpm": {"files": files}}}}))
PY
)
npx --no-install tauri bundle "${tauri_profile[@]}" --bundles "$bundles" --config "$extra" >&2
version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml","rb"))["workspace"]["package"]["version"])')
deb=$(ls "$CARGO_TARGET_DIR/$profile"/bundle/deb/*_"${version}"_*.deb)
# xz instead of the bundler's gzip (the .rpm's xz is set in tauri.conf.json). The dev-profile
# .deb of the upgrade test stays gzip: xz -9 of its unstripped binaries takes minutes.
if [ "$profile" = release ]; then scripts/repack-deb.sh "$deb" "$deb"; fi
echo "$deb"
if [ "$bundles" = deb,rpm ]; then ls "$CARGO_TARGET_DIR/$profile"/bundle/rpm/*-"${version}"-*.rpm; fi
