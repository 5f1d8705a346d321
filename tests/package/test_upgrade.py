"""An upgrade from the installed package to a newer build with a new database migration keeps
the connected account (same id, same tokens, still working) and migrates its database; removing
the package leaves the user's data alone. Run by scripts/test-packages.sh after test_packages.py
and the E2E suite against the installed window."""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_DEB = Path(os.environ.get("CA_UPGRADE_DEB", ""))
UPGRADE_VERSION = os.environ.get("CA_UPGRADE_VERSION", "")
APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def run(*args, env=None, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check, env=env)


@pytest.fixture(scope="module")
def idp():
    proc = subprocess.Popen(
        ["node", str(ROOT / "tests/idp/server.mjs")],
        env={**os.environ, "IDP_PORT": "0", "IDP_EXIT_ON_STDIN_EOF": "1"},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    yield json.loads(proc.stdout.readline())["issuer"]
    proc.stdin.close()
    proc.wait(10)


@pytest.fixture(scope="module")
def home():
    root = Path(tempfile.mkdtemp(prefix="ca-upgrade-"))
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(root / "data"), "XDG_STATE_HOME": str(root / "state"),
        "XDG_CONFIG_HOME": str(root / "config"), "CONNECTED_ACCOUNTS_PROFILE": "",
        "BROWSER": f"{sys.executable} {ROOT / 'tests/idp/browser.py'}",
    }
    env.pop("DISPLAY", None)
    return root, env


def cli(env, *args):
    out = run("/usr/bin/connected-accounts", *args, env=env, check=False)
    assert out.returncode == 0, f"{args}: {out.stderr}"
    return json.loads(out.stdout) if "--json" in args else out.stdout


def keychain(account_id):
    return run("secret-tool", "lookup", "service", "connected-accounts", "username", account_id).stdout


def test_an_upgrade_keeps_the_account_and_migrates_its_database(idp, home):
    assert UPGRADE_DEB.is_file() and UPGRADE_VERSION, "run through scripts/test-packages.sh"
    root, env = home
    cli(env, "providers", "add", "--issuer", idp, "--client-id", "connected-accounts-demo", "--name", "Local demo")
    account = cli(env, "connect", "local-demo", "--json")
    # A release binary has no test hooks: both variables are ignored and the refresh completes.
    hooks = {"CONNECTED_ACCOUNTS_CRASH_AT": "refresh-after-response",
             "CONNECTED_ACCOUNTS_PANIC_AT": "refresh-after-keychain"}
    cli({**env, **hooks}, "refresh", account["id"])
    tokens_before = keychain(account["id"])
    assert tokens_before
    # The upgrade's migration re-points this provider's token endpoint at another server, as a
    # new version whose built-in profile changed would.
    cli(env, "providers", "add", "--issuer", idp, "--client-id", "connected-accounts-demo", "--name", "Moved demo")
    moved = cli(env, "connect", "moved-demo", "--json")

    run("apt-get", "install", "-y", "-q", "--no-install-recommends", str(UPGRADE_DEB), env=APT_ENV)
    assert run("dpkg-query", "-W", "-f=${Version}", "connected-accounts").stdout == UPGRADE_VERSION

    after = {a["id"]: (a["status"], a["subject"]) for a in cli(env, "list", "--json")}
    assert after == {account["id"]: ("connected", "alice"), moved["id"]: ("connected", "alice")}
    assert keychain(account["id"]) == tokens_before, "the tokens were not touched"
    probe = cli(env, "test", account["id"], "--json")
    assert probe["status"] == 200, probe
    db = sqlite3.connect(root / "data/connected-accounts/accounts.sqlite3")
    versions = [v for (v,) in db.execute("SELECT version FROM _sqlx_migrations ORDER BY version")]
    shipped = len(list((ROOT / "crates/core/migrations").glob("*.sql")))
    assert versions[-1] == shipped + 1, f"the upgrade's migration ran: {versions}"
    assert db.execute("SELECT count(*) FROM upgrade_probe").fetchone() == (1,)

    # The re-pointed provider's account is sent nowhere new: it needs reconnecting, and says
    # where it was connected and where its provider points now.
    refused = run("/usr/bin/connected-accounts", "refresh", moved["id"], env=env, check=False)
    assert refused.returncode == 3, refused.stderr
    assert idp in refused.stderr and "http://127.0.0.1:9" in refused.stderr, refused.stderr
    status = {a["id"]: a["status"] for a in cli(env, "list", "--json")}
    assert status == {account["id"]: "connected", moved["id"]: "needs_reconnect"}, status


def test_removing_the_package_leaves_the_users_data_alone(home):
    root, env = home
    accounts_before = cli(env, "list", "--json")
    run("apt-get", "remove", "-y", "-q", "connected-accounts", env=APT_ENV)
    assert not Path("/usr/bin/connected-accounts").exists()
    assert not Path("/usr/bin/connected-accounts-app").exists()
    assert (root / "data/connected-accounts/accounts.sqlite3").is_file(), "the database stays"
    assert keychain(accounts_before[0]["id"]), "the tokens stay in the keychain"
    status = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "connected-accounts", check=False).stdout
    assert not status.startswith("ii"), status
