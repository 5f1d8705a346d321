"""The real window under Xvfb, driven over WebDriver (tauri-driver), against the real
authorization server and the real Secret Service (run under tests/with-keyring.sh)."""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from contextlib import closing
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
APP = Path(os.environ.get("CA_E2E_APP", TARGET / "debug" / "connected-accounts-app"))
CLI = Path(os.environ.get("CA_E2E_CLI", TARGET / "debug" / "connected-accounts"))


def pytest_configure(config):
    # The package stage runs only these on the installed binaries (scripts/test-packages.sh):
    # start-up, a sign-in of each redirect kind the desktop is involved in, disconnect, secrecy.
    config.addinivalue_line("markers", "smoke: the subset run again against the installed package")


def pytest_collection_modifyitems(config, items):
    # CA_E2E_REVERSE=1 runs the tests backwards: a check that none depends on what another left.
    if os.environ.get("CA_E2E_REVERSE") == "1":
        items.reverse()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def keyring():
    assert os.environ.get("CA_TEST_KEYRING") == "1", "run through tests/with-keyring.sh"


DISPLAY_NAME = [None]


@pytest.fixture(scope="session")
def display():
    """A private X server; its number is chosen by Xvfb itself (-displayfd)."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=[write],
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(read, 16)
        if not chunk:
            raise RuntimeError("Xvfb did not start")
        number += chunk
    os.close(read)
    name = f":{number.decode().strip()}"
    DISPLAY_NAME[0] = name
    yield name
    stop(xvfb)


def start_idp(**env):
    """A real oidc-provider on a free loopback port: (process, issuer)."""
    proc = subprocess.Popen(
        ["node", str(ROOT / "tests/idp/server.mjs")],
        env={**os.environ, "IDP_PORT": "0", "IDP_EXIT_ON_STDIN_EOF": "1", **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return proc, json.loads(proc.stdout.readline())["issuer"]


@pytest.fixture(scope="session")
def idp():
    proc, issuer = start_idp()
    yield issuer
    stop(proc)


class SecretReads:
    """Counts the Secret Service calls that read secrets (dbus-monitor on the session bus)."""

    def __init__(self):
        self.log = tempfile.NamedTemporaryFile(prefix="ca-dbus-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [
                "dbus-monitor", "--session",
                "type='method_call',interface='org.freedesktop.Secret.Service'",
                "type='method_call',interface='org.freedesktop.Secret.Item'",
            ],
            stdout=self.log,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        self.since = 0

    def _total(self):
        time.sleep(0.3)  # let dbus-monitor write what it saw
        text = Path(self.log.name).read_text(errors="replace")
        return sum(
            1 for line in text.splitlines()
            if any(f"member={m}" in line for m in ("SearchItems", "GetSecrets", "GetSecret"))
        )

    def reset(self):
        """Counts from now on only."""
        self.since = self._total()

    def count(self):
        return self._total() - self.since

    def close(self):
        stop(self.proc)
        os.unlink(self.log.name)


@pytest.fixture(scope="session")
def notifications(display):
    """A real notification server (dunst) on the test session bus; yields a reader of what it got."""
    proc = subprocess.Popen(["dunst"], env={**os.environ, "DISPLAY": display},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def received():
        subprocess.run(["dunstctl", "close-all"], check=False, capture_output=True)
        out = subprocess.run(["dunstctl", "history"], capture_output=True, text=True)
        if out.returncode != 0 or not out.stdout.strip():
            return []
        return [
            {"summary": n["summary"]["data"], "body": n["body"]["data"]}
            for group in json.loads(out.stdout)["data"] for n in group
        ]

    # Wait until it owns the name (asking dunstctl earlier would make D-Bus start another dunst).
    deadline = time.time() + 10
    while "boolean true" not in subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
         "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.Notifications"],
        capture_output=True, text=True,
    ).stdout:
        if time.time() > deadline or proc.poll() is not None:
            raise RuntimeError("dunst did not start")
        time.sleep(0.1)
    yield received
    stop(proc)


class Sandbox:
    def __init__(self, root: Path, issuer: str):
        self.root = root
        self.issuer = issuer
        self.mode_file = root / "browser-mode"
        # Every token seen in the keychain during the session, and every IPC reply the UI got:
        # the leak scan searches the files and the replies for the tokens.
        self.tokens = set()
        self.ipc = []
        self.set_browser("approve")
        # The session's runtime folder, as the system makes one (0700): the app's approvals
        # socket is there, where the command line looks for it.
        self.runtime = root / "runtime"
        self.runtime.mkdir(mode=0o700)
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(self.runtime),
            # These tests are the person at the desktop. CI systems set `CI`, which the command
            # line takes as "nobody to ask" (policy `ask` refused at once): cleared here.
            "CI": "",
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_STATE_HOME": str(root / "state"),
            "XDG_CONFIG_HOME": str(root / "config"),
            # The webview keeps its cache here: inside the sandbox, so the leak scan covers it.
            "XDG_CACHE_HOME": str(root / "cache"),
            # Everything our code logs, at the most verbose level (the leak scan reads the logs).
            "RUST_LOG": "trace",
            "BROWSER": str(ROOT / "tests/e2e/browser-switch.sh"),
            "CA_E2E_MODE_FILE": str(self.mode_file),
            "CONNECTED_ACCOUNTS_PROFILE": "",
            # No accessibility bus: GTK would start at-spi daemons that outlive the app.
            "NO_AT_BRIDGE": "1",
            # The scripted browser hands custom-scheme redirects to the desktop, as a browser
            # would: `gio open` finds the handler the app registered and starts it with the URL.
            "CA_TEST_OPEN_SCHEME": "gio",
        }

    def set_browser(self, mode):
        self.mode_file.write_text(mode)

    def cli(self, *args, env=None, input=None):
        out = subprocess.run([str(CLI), *args], env={**self.env, **(env or {})}, input=input,
                             capture_output=True, text=True, check=True)
        return out.stdout

    def accounts(self):
        return json.loads(self.cli("list", "--json"))

    def ensure_demo_provider(self):
        # "Remove all my data" deletes it with everything else.
        if not any(p["id"] == "local-demo" for p in json.loads(self.cli("providers", "--json"))):
            self.cli("providers", "add", "--issuer", self.issuer, "--client-id", "connected-accounts-demo",
                     "--name", "Local demo")

    def revoke_all(self, provider=None):
        for account in self.accounts():
            if provider is None or account["provider"] == provider:
                if self.keychain(account["id"]):
                    self.remember_tokens(account["id"])  # more for the leak scan to look for
                self.cli("revoke", account["id"], "--yes")

    def forget_provider(self, provider_id):
        """Back to never configured. Neither the window nor the CLI removes a provider, so its row
        goes straight from the database (its accounts must be gone already)."""
        database = Path(self.env["XDG_DATA_HOME"]) / "connected-accounts" / "accounts.sqlite3"
        with closing(sqlite3.connect(database)) as db, db:
            db.execute("DELETE FROM providers WHERE id = ?", (provider_id,))
        subprocess.run(["secret-tool", "clear", "service", "connected-accounts",
                        "username", f"client-secret:{provider_id}"], check=False)

    def remember_tokens(self, account_id):
        stored = json.loads(self.keychain(account_id))
        for key in ("access_token", "refresh_token", "id_token", "dpop_key"):
            if stored.get(key):
                self.tokens.add(stored[key])
        return stored

    def keychain(self, account_id):
        out = subprocess.run(
            ["secret-tool", "lookup", "service", "connected-accounts", "username", account_id],
            capture_output=True, text=True,
        )
        return out.stdout or None


@pytest.fixture(scope="session")
def sandbox(idp, keyring):
    root = Path(tempfile.mkdtemp(prefix="ca-e2e-"))
    box = Sandbox(root, idp)
    box.ensure_demo_provider()
    yield box
    shutil.rmtree(root, ignore_errors=True)


def snapshot(driver, name):
    """Saves a picture of the window for people to look at when CA_E2E_SCREENSHOTS names a
    folder (needs Pillow and python-xlib: tests/e2e/shots-requirements.txt)."""
    folder = os.environ.get("CA_E2E_SCREENSHOTS")
    if folder:
        from screen import save_window
        settle(driver)
        save_window(DISPLAY_NAME[0], Path(folder) / f"{name}.png")


def settle(driver):
    """Waits until the page painted what it last changed: two animation frames, and no
    transition left running."""
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 250)));")


@pytest.fixture(scope="session")
def secret_reads(sandbox):
    reads = SecretReads()
    yield reads
    reads.close()


# Records every IPC reply (and channel message) the page receives: Tauri delivers each through a
# callback registered in `__TAURI_INTERNALS__.callbacks`, so registering is wrapped.
RECORD_IPC = """
const callbacks = window.__TAURI_INTERNALS__.callbacks;
if (!window.__caIpcLog) {
  window.__caIpcLog = [];
  const set = Map.prototype.set;
  callbacks.set = function (id, fn) {
    return set.call(this, id, (data) => { window.__caIpcLog.push(JSON.stringify(data)); return fn(data); });
  };
}
"""


def ready(driver):
    WebDriverWait(driver, 20, poll_frequency=0.1).until(
        lambda d: d.execute_script("return document.body.dataset.ready") == "accounts")


def harvest_ipc(driver, sandbox):
    sandbox.ipc.extend(driver.execute_script("const l = window.__caIpcLog || []; return l.splice(0, l.length)"))


def reload(driver, sandbox):
    """Reloads the page, keeping what it received, and records again."""
    harvest_ipc(driver, sandbox)
    driver.refresh()
    ready(driver)
    driver.execute_script(RECORD_IPC)


class App:
    """The window, through one tauri-driver for the whole session. Started when a test first
    needs it, and again after one ended it (quit, or asked for a fresh start): each WebDriver
    session is a new app process."""

    def __init__(self, port, sandbox):
        self.port = port
        self.sandbox = sandbox
        self._driver = None

    @property
    def driver(self):
        if self._driver is None:
            options = ArgOptions()
            options.set_capability("browserName", "wry")
            options.set_capability("tauri:options", {"application": str(APP)})
            self._driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{self.port}", options=options)
            self._driver.implicitly_wait(0)
        return self._driver

    def stop(self):
        if self._driver is None:
            return
        try:
            harvest_ipc(self._driver, self.sandbox)
        except WebDriverException:
            pass  # it quit by itself
        try:
            self._driver.quit()
        except WebDriverException:
            pass  # nor can the session of an app that quit be ended cleanly
        self._driver = None


@pytest.fixture(scope="session")
def app(display, sandbox, notifications):
    assert APP.is_file(), f"build the window first: npx tauri build --debug --no-bundle ({APP})"
    port, native = free_port(), free_port()
    env = {**sandbox.env, "DISPLAY": display}
    # Its own process group, so WebKitWebDriver (its child) is stopped with it.
    tauri_driver = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(native)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("CA_E2E_DRIVER_LOG", os.devnull), "wb"),
        start_new_session=True,
    )
    window = App(port, sandbox)
    try:
        wait_for_port(port, tauri_driver, "tauri-driver")
        # tauri-driver starts WebKitWebDriver itself; a session asked for before that one listens
        # is dropped, so wait for both.
        wait_for_port(native, tauri_driver, "WebKitWebDriver")
        yield window
    finally:
        window.stop()
        try:
            os.killpg(tauri_driver.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        stop(tauri_driver)


# Fixtures that change what the window shows, then reload it themselves.
RELOADING = {"no_accounts", "connected_account", "github_unconfigured", "short_lived_provider"}


@pytest.fixture
def driver(app, sandbox, request):
    """The session's window, reset for one test: the demo provider there, the scripted browser
    approving, the page reloaded (no dialog, field or selection left from before)."""
    sandbox.ensure_demo_provider()
    sandbox.set_browser("approve")
    drv = app.driver
    if not RELOADING & set(request.fixturenames):  # else one reload, after the state is set up
        reload(drv, sandbox)
    return drv


@pytest.fixture
def app_quits(app):
    """For a test that ends the app: its session is dropped afterwards (passed or not), and the
    next test that needs the window starts a new app through the same tauri-driver."""
    yield
    app.stop()


@pytest.fixture
def seeded_account(sandbox):
    """The only account, connected through the CLI before the window starts, so start-up has
    something it could read."""
    sandbox.ensure_demo_provider()
    sandbox.set_browser("approve")
    sandbox.revoke_all()
    return json.loads(sandbox.cli("connect", "local-demo", "--json", env={"CA_TEST_LOGIN": "seeded"}))["id"]


@pytest.fixture
def fresh_window(app, seeded_account, secret_reads):
    """A window started for this test, over the seeded account; Secret Service reads are counted
    from just before it starts. Costs an app start unless no window ran yet (the usual order)."""
    app.stop()
    secret_reads.reset()
    return app.driver


@pytest.fixture
def no_accounts(driver, sandbox):
    sandbox.revoke_all()
    reload(driver, sandbox)


@pytest.fixture
def connected_account(driver, sandbox):
    """Alice, connected through the CLI, the only account listed: her account id."""
    sandbox.revoke_all()
    account = json.loads(sandbox.cli("connect", "local-demo", "--json", env={"CA_TEST_LOGIN": "alice"}))
    sandbox.remember_tokens(account["id"])
    reload(driver, sandbox)
    return account["id"]


@pytest.fixture
def github_unconfigured(driver, sandbox):
    sandbox.forget_provider("github")
    reload(driver, sandbox)


@pytest.fixture
def github_configured(sandbox):
    """GitHub set up with a client secret, which goes to the keychain."""
    sandbox.cli("providers", "configure", "github", "--client-id", "Iv1.e2e-client", "--client-secret-stdin",
                input="e2e-secret-value")


@pytest.fixture
def short_lived_provider(driver, sandbox):
    """A second real server, whose access tokens live 20 s, added as "Short demo": its issuer."""
    proc, issuer = start_idp(IDP_ACCESS_TTL="20")
    try:
        sandbox.cli("providers", "add", "--issuer", issuer, "--client-id", "connected-accounts-demo",
                    "--name", "Short demo")
        reload(driver, sandbox)
        yield issuer
        # Revoked while its server still answers; then the provider goes too.
        sandbox.revoke_all(provider="short-demo")
        sandbox.forget_provider("short-demo")
    finally:
        stop(proc)


@pytest.fixture
def tray():
    """A desktop that shows tray items: a StatusNotifierWatcher on the test session bus."""
    from desktop import Tray
    watcher = Tray()
    yield watcher
    watcher.stop()


@pytest.fixture
def default_app_settings(sandbox):
    """The app's own settings back to their defaults afterwards (what closing the window does),
    so a later test's window closes the way a new user's does."""
    yield
    database = Path(sandbox.env["XDG_DATA_HOME"]) / "connected-accounts" / "accounts.sqlite3"
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM app_settings")
