#!/usr/bin/env bash
# Repacks a .deb with xz at its highest level, as Debian's own packages (GitHub CLI's included)
# are, instead of the gzip the Tauri bundler writes. dpkg has read xz since Debian 6 and
# Ubuntu 10.10. Any PATH given is left out (with its checksum line and its share of
# Installed-Size): the benchmark's window-only package is the full one without the command line.
#   scripts/repack-deb.sh IN.deb OUT.deb [PATH]...
set -euo pipefail
in=$1 out=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$in" "$work/root"
if [ $# -gt 0 ]; then
  for path in "$@"; do
    rm -f "$work/root$path"
    # Lines are "<32 hex digits>  <path>": only the path's own line goes, not a longer one's.
    awk -v p="${path#/}" 'substr($0, 35) != p' "$work/root/DEBIAN/md5sums" >"$work/md5sums"
    cp "$work/md5sums" "$work/root/DEBIAN/md5sums"
  done
  size=$(du -sk --exclude=DEBIAN "$work/root" | cut -f1)
  sed -i "s/^Installed-Size: .*/Installed-Size: $size/" "$work/root/DEBIAN/control"
fi
dpkg-deb --root-owner-group -Zxz -z9 -Sextreme -b "$work/root" "$work/out.deb" >/dev/null
mv "$work/out.deb" "$out"
