"""The Linux installers, as users get them: the .deb installed with apt on this machine (the tests
run as root), the .rpm inspected with rpm (it cannot be installed on Debian), then an upgrade to a
newer build with a new migration, and removal. Run by scripts/test-packages.sh, which builds the
packages and exports their paths; the window itself is then tested from the installed package by
the same E2E suite (tests/e2e) pointed at /usr/bin."""

import json
import os
import sqlite3
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEB = Path(os.environ.get("CA_DEB", ""))
RPM = Path(os.environ.get("CA_RPM", ""))
UPGRADE_DEB = Path(os.environ.get("CA_UPGRADE_DEB", ""))
VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
SCHEME = "io.github.connectedaccounts"


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=True, **kw).stdout


def fields(text):
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith(" "):
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip()
    return out


@pytest.fixture(scope="module", autouse=True)
def packages_built():
    assert DEB.is_file() and RPM.is_file(), "run through scripts/test-packages.sh (CA_DEB, CA_RPM)"


def test_the_deb_says_what_people_expect():
    info = fields(run("dpkg-deb", "--field", str(DEB)))
    assert info["Package"] == "connected-accounts"
    assert info["Version"] == VERSION, "the version comes from Cargo.toml's [workspace.package]"
    assert info["Section"] == "utils"
    assert info["Homepage"].startswith("https://")
    assert info["Maintainer"], info
    assert "libwebkit2gtk-4.1-0" in info["Depends"]
    # The tray item's library is loaded at run time, so nothing else would pull it in.
    assert "libayatana-appindicator3-1" in info["Depends"]
    assert "gnome-keyring" in info["Recommends"]
    assert "OAuth" in info["Description"]


def test_the_system_sqlite_both_binaries_link_is_a_dependency(tmp_path):
    run("dpkg-deb", "-x", str(DEB), str(tmp_path))
    for name in ("connected-accounts-app", "connected-accounts"):
        needed = run("readelf", "-d", str(tmp_path / "usr/bin" / name))
        assert "[libsqlite3.so.0]" in needed, f"{name} links SQLite statically again?"
    # The newest SQL the app uses is the upsert (3.24); Debian 12 has 3.40, Ubuntu 22.04 3.37.
    assert "libsqlite3-0 (>= 3.24)" in fields(run("dpkg-deb", "--field", str(DEB)))["Depends"]
    # The bundler takes each .rpm dependency as one name (a version would become part of it), so
    # the .rpm names the library's soname, as rpm's own dependency generator would.
    requires = run("rpm", "-qp", "--qf", "[%{REQUIRENAME}|%{REQUIREFLAGS:depflags}\n]", str(RPM))
    assert "libsqlite3.so.0()(64bit)|" in requires.splitlines(), requires


def test_both_packages_are_compressed_with_xz_as_debians_own_are():
    members = run("ar", "t", str(DEB)).split()
    assert members[0] == "debian-binary" and "data.tar.xz" in members, members
    assert run("rpm", "-qp", "--qf", "%{PAYLOADCOMPRESSOR}", str(RPM)) == "xz"
    # The repacked .deb still lists a checksum for every file it installs.
    listed = {line.split("  ", 1)[1] for line in run("dpkg-deb", "-I", str(DEB), "md5sums").splitlines()}
    # `dpkg-deb -c` lines end with the path (which may hold spaces) after " ./".
    files = {line.split(" ./", 1)[1] for line in run("dpkg-deb", "-c", str(DEB)).splitlines()
             if line.startswith("-")}
    assert files and files <= listed, files - listed


def test_the_rpm_says_what_people_expect_and_carries_the_same_files():
    info = fields(run("rpm", "-qip", str(RPM)))
    assert info["Name"] == "connected-accounts"
    assert info["Version"] == VERSION
    assert info["License"] == "MIT OR Apache-2.0"
    assert info["URL"].startswith("https://")
    assert "OAuth" in info["Summary"] or "OAuth" in run("rpm", "-qp", "--queryformat", "%{DESCRIPTION}", str(RPM))
    files = run("rpm", "-qlp", str(RPM)).splitlines()
    for path in ("/usr/bin/connected-accounts-app", "/usr/bin/connected-accounts",
                 "/usr/share/man/man1/connected-accounts.1.gz",
                 "/usr/share/licenses/connected-accounts/LICENSE-MIT",
                 "/usr/share/licenses/connected-accounts/LICENSE-APACHE"):
        assert path in files, path
    assert any(f.startswith("/usr/share/applications/") and f.endswith(".desktop") for f in files)
    assert any("/hicolor/" in f for f in files)
    requires = run("rpm", "-qp", "--requires", str(RPM))
    assert "webkit2gtk" in requires
    assert "libayatana-appindicator-gtk3" in requires
    assert "gnome-keyring" in run("rpm", "-qp", "--recommends", str(RPM))


def installed_desktop_entry():
    entries = [p for p in run("dpkg", "-L", "connected-accounts").splitlines() if p.endswith(".desktop")]
    assert len(entries) == 1, entries
    return Path(entries[0])


def test_installing_the_deb_puts_everything_in_place():
    run("apt-get", "install", "-y", "-q", "--no-install-recommends", str(DEB),
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    assert run("dpkg-query", "-W", "-f=${Version}", "connected-accounts") == VERSION
    for binary in ("/usr/bin/connected-accounts-app", "/usr/bin/connected-accounts"):
        assert os.access(binary, os.X_OK), binary
    entry = installed_desktop_entry()
    text = entry.read_text()
    assert f"x-scheme-handler/{SCHEME}" in text, text
    # %u: the desktop passes the sign-in URL to the app (without it the callback is lost).
    assert "Exec=connected-accounts-app %u" in text, text
    subprocess.run(["desktop-file-validate", str(entry)], check=True)
    icons = [p for p in run("dpkg", "-L", "connected-accounts").splitlines() if "/icons/hicolor/" in p and p.endswith(".png")]
    sizes = {p.split("/hicolor/")[1].split("/")[0] for p in icons}
    # From the one source image by `tauri icon`; Tauri files the 2x 128 icon under 256x256@2.
    assert sizes == {"32x32", "64x64", "128x128", "256x256@2", "512x512"}, sizes
    for name in ("LICENSE-MIT", "LICENSE-APACHE"):
        assert Path(f"/usr/share/doc/connected-accounts/{name}").is_file()
    # The manual page (man finds it and it renders) and the shell completions.
    page = run("man", "-w", "connected-accounts").strip()
    assert page == "/usr/share/man/man1/connected-accounts.1.gz", page
    assert "git\\-credential" in run("zcat", page)  # roff escapes the hyphen
    assert "complete -F" in Path("/usr/share/bash-completion/completions/connected-accounts").read_text()
    assert Path("/usr/share/fish/vendor_completions.d/connected-accounts.fish").is_file()
    # The desktop knows who opens the custom scheme (what `gio open` relies on).
    handlers = run("gio", "mime", f"x-scheme-handler/{SCHEME}")
    assert entry.name in handlers, handlers


def test_the_installed_command_line_works_without_a_window(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "d"), "XDG_STATE_HOME": str(tmp_path / "s"),
           "XDG_CONFIG_HOME": str(tmp_path / "c"), "CONNECTED_ACCOUNTS_PROFILE": ""}
    env.pop("DISPLAY", None)
    out = run("/usr/bin/connected-accounts", "providers", "--json", env=env)
    ids = {p["id"] for p in json.loads(out)}
    assert {"github", "google", "microsoft"} <= ids
    linked = run("ldd", "/usr/bin/connected-accounts")
    assert "webkit" not in linked and "gtk" not in linked, "the command line links no GUI library"
