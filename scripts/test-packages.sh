#!/usr/bin/env bash
# The installers, proven on this machine (Debian/Ubuntu, as root or with sudo): builds the .deb
# and .rpm (scripts/package.sh), checks both, installs the .deb, runs the whole window E2E suite
# against the installed /usr/bin binaries (the custom-scheme sign-in goes through the installed
# desktop entry), upgrades to a newer build that adds a database migration, and removes the
# package. Called by scripts/test.sh; runs under tests/with-keyring.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/connected-accounts/target}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
started=$SECONDS
step() { printf '\n==> packages: %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "build the .deb and .rpm"
mapfile -t built < <(scripts/package.sh | tail -2)
# Kept aside: the upgrade below builds into the same target folder.
packages=$(mktemp -d -t ca-packages.XXXXXX)
upgrade_src="$CARGO_TARGET_DIR/upgrade-src"
trap 'rm -rf "$packages" "$upgrade_src"' EXIT
cp "${built[0]}" "${built[1]}" "$packages/"
export CA_DEB="$packages/$(basename "${built[0]}")" CA_RPM="$packages/$(basename "${built[1]}")"
ls -l "$CA_DEB" "$CA_RPM"

step "build the upgrade: the same tree, next patch version, one more migration"
# The dev profile (package.sh --debug): what the upgrade proves (apt replaces the package in
# place, the new build migrates the existing database, the tokens stay) does not depend on the
# optimiser, and the dependencies are already compiled by the tests and the window's debug
# build, so it takes 2 minutes instead of the release profile's 7 (two LTO links).
rm -rf "$upgrade_src" && mkdir -p "$upgrade_src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$upgrade_src"
ln -s "$PWD/node_modules" "$upgrade_src/node_modules"
ln -s "$PWD/ui/node_modules" "$upgrade_src/ui/node_modules"
version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml","rb"))["workspace"]["package"]["version"])')
export CA_UPGRADE_VERSION=$(python3 -c "v='$version'.split('.'); v[2]=str(int(v[2])+1); print('.'.join(v))")
sed -i "0,/^version = \"$version\"/s//version = \"$CA_UPGRADE_VERSION\"/" "$upgrade_src/Cargo.toml"
last=$(ls crates/core/migrations | sed -n 's/^\([0-9]\{4\}\)_.*\.sql$/\1/p' | sort -n | tail -1)
probe=$(printf '%04d_upgrade_probe.sql' $((10#$last + 1)))
cat > "$upgrade_src/crates/core/migrations/$probe" <<'SQL'
-- Only in the upgrade test's build: proves a newer package migrates an existing database.
CREATE TABLE upgrade_probe (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
INSERT INTO upgrade_probe (note) VALUES ('migrated by the upgrade');
-- As a new version whose profile names another server would: test_upgrade.py's "Moved demo".
UPDATE providers SET token_endpoint = 'http://127.0.0.1:9/token' WHERE id = 'moved-demo';
SQL
(cd "$upgrade_src" && cargo update --workspace --offline -q &&
  scripts/package.sh --debug | tail -1 > "$upgrade_src/built")
export CA_UPGRADE_DEB="$packages/$(basename "$(head -1 "$upgrade_src/built")")"
cp "$(head -1 "$upgrade_src/built")" "$CA_UPGRADE_DEB"
ls -l "$CA_UPGRADE_DEB"

step "inspect both packages, install the .deb"
$SUDO apt-get remove -y -q connected-accounts >/dev/null 2>&1 || true
tests/with-keyring.sh .venv/bin/python -m pytest -v -p no:cacheprovider tests/package/test_packages.py

step "the window's smoke subset against the installed package (the whole suite ran on the build)"
CA_E2E_APP=/usr/bin/connected-accounts-app CA_E2E_CLI=/usr/bin/connected-accounts \
  tests/with-keyring.sh .venv/bin/python -m pytest -v -p no:cacheprovider -m smoke tests/e2e

step "upgrade, then remove"
tests/with-keyring.sh .venv/bin/python -m pytest -v -p no:cacheprovider tests/package/test_upgrade.py

step "sizes"
du -b "$CA_DEB" "$CA_RPM"
step "packages passed"
