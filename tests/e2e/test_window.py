"""A person's path through the window: connect, see scopes, test, refresh, disconnect, and the
ways a sign-in can end (cancel, denied). Each test sets up what it needs through the fixtures in
conftest.py, so they pass alone and in any order (CA_E2E_REVERSE=1 runs them backwards)."""

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import CLI, RECORD_IPC, harvest_ipc, ready, reload, snapshot
from helpers import PAGE, account_rows, click, connect, css, nav, one, open_account, set_start_at_login, wait


@pytest.mark.smoke
def test_window_starts_and_lists_the_provider(fresh_window, seeded_account, sandbox, secret_reads):
    driver = fresh_window
    ready(driver)
    driver.execute_script(RECORD_IPC)
    # The account connected before the window started is listed from SQLite alone.
    seeded = one(driver, f'[data-testid="account-item"][data-account-id="{seeded_account}"]')
    snapshot(driver, "accounts-list")
    assert "seeded" in seeded.text.lower(), seeded.text
    nav(driver, "providers")
    row = one(driver, '[data-testid="provider-row"][data-provider-id="local-demo"]')
    assert "Local demo" in row.text
    # The list came with the page (the backend's start-up snapshot): it was on the page before
    # the first paint, and the page asked nobody for it.
    built, painted = driver.execute_script(
        "const l = performance.getEntriesByName('ca:list')[0];"
        "const p = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');"
        "return [l ? l.startTime : null, p ? p.startTime : null];")
    assert built is not None and painted is not None and built <= painted, (built, painted)
    time.sleep(1)  # whatever start-up still does in the background
    assert secret_reads.count() == 0, "start-up read a secret from the Secret Service"
    sandbox.remember_tokens(seeded_account)
    sandbox.cli("revoke", seeded_account, "--yes")
    reload(driver, sandbox)
    # A reloaded page reads the list again rather than showing the start-up snapshot.
    assert css(driver, '[data-testid="accounts-empty"]'), "an empty account list says what to do"


def test_cancel_while_waiting_for_the_browser(driver, sandbox, no_accounts):
    sandbox.set_browser("ignore")
    connect(driver)
    panel = one(driver, '[data-testid="flow-waiting"]')
    assert "Local demo" in panel.text
    snapshot(driver, "waiting-for-browser")
    click(driver, '[data-testid="cancel-flow"]')
    wait(driver).until(lambda d: not css(d, '[data-testid="flow-waiting"]'))
    assert not [e for e in css(driver, '[data-testid="error-banner"]') if e.is_displayed()]
    # A list read while the sign-in was pending (start-up's recovery, say) showed its
    # "connecting…" row; the list is read again once the sign-in ends.
    try:
        wait(driver, 5).until(lambda d: not account_rows(d))
    except Exception:
        raise AssertionError(f"rows left after cancel: {[r.text for r in account_rows(driver)]}")
    # The window stops waiting at once; the backend then rolls the pending row back.
    deadline = time.time() + 5
    while (left := json.loads(sandbox.cli("list", "--json"))) and time.time() < deadline:
        time.sleep(0.1)
    assert left == [], left


def test_denied_sign_in_shows_what_happened_and_what_to_do(driver, sandbox, no_accounts):
    sandbox.set_browser("deny")
    connect(driver)
    banner = one(driver, '[data-testid="error-banner"]')
    assert "access was denied" in banner.text
    assert "allow access" in banner.text
    click(driver, '[data-testid="error-dismiss"]')
    assert not account_rows(driver)


@pytest.mark.smoke
def test_connect_shows_the_account_with_its_scopes(driver, sandbox, no_accounts):
    sandbox.set_browser("approve")
    connect(driver)
    row = one(driver, '[data-testid="account-page"][data-status="connected"]')
    assert row.find_element(By.CSS_SELECTOR, '[data-testid="account-name"]').text == "Alice Example"
    assert "alice@example.test" in row.text
    granted = {e.text for e in row.find_elements(By.CSS_SELECTOR, '[data-testid="scope-granted"]')}
    assert {"openid", "profile", "email", "offline_access"} <= granted
    assert row.get_attribute("data-expires-at"), "expiry is exposed for tests"
    account_id = row.get_attribute("data-account-id")
    assert sandbox.keychain(account_id), "tokens are in the Secret Service"
    sandbox.remember_tokens(account_id)


def test_requested_but_not_granted_scopes_look_different(driver, sandbox, connected_account):
    # Reconnect the same person asking for one more scope than the server offers.
    nav(driver, "providers")
    field = one(driver, '[data-provider-id="local-demo"] [data-testid="connect-scopes"]')
    field.clear()
    field.send_keys("openid profile email offline_access phone")
    account_id = account_rows(driver)[0].get_attribute("data-account-id")
    assert account_id == connected_account
    connect(driver)
    wait(driver).until(lambda d: css(d, f'{PAGE} [data-testid="scope-missing"]'))
    rows = account_rows(driver)
    assert len(rows) == 1 and rows[0].get_attribute("data-account-id") == account_id, "same account kept"
    page = one(driver, f'{PAGE}[data-account-id="{account_id}"]')
    missing = [e.text for e in page.find_elements(By.CSS_SELECTOR, '[data-testid="scope-missing"]')]
    assert missing == ["phone"]
    granted = {e.text for e in page.find_elements(By.CSS_SELECTOR, '[data-testid="scope-granted"]')}
    assert "phone" not in granted
    nav(driver, "providers")
    field.clear()
    snapshot(driver, "account-with-missing-scope")


def test_test_view_shows_the_user_json_from_the_provider(driver, connected_account):
    open_account(driver, connected_account)
    click(driver, f'{PAGE} [data-testid="test"]')
    view = one(driver, '[data-testid="test-view"]')
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="test-status"]').text.strip().startswith("200"))
    body = json.loads(view.find_element(By.CSS_SELECTOR, '[data-testid="test-body"]').text)
    assert body["sub"] == "alice"
    assert body["email"] == "alice@example.test"
    assert "/me" in view.text
    snapshot(driver, "test-view")
    click(driver, '[data-testid="test-close"]')
    wait(driver).until(lambda d: not [e for e in css(d, '[data-testid="test-view"]') if e.is_displayed()])


def test_the_request_box_calls_the_providers_api_and_nowhere_else(driver, sandbox, connected_account):
    page = open_account(driver, connected_account)
    field = page.find_element(By.CSS_SELECTOR, '[data-testid="request-url"]')
    issuer = sandbox.issuer.rstrip("/")
    assert field.get_attribute("value") == f"{issuer}/me"
    field.clear()
    field.send_keys(f"{issuer}/me?from=e2e")
    click(driver, f'{PAGE} [data-testid="request-send"]')
    view = one(driver, '[data-testid="test-view"]')
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="test-status"]').text.strip() == "200")
    assert json.loads(view.find_element(By.CSS_SELECTOR, '[data-testid="test-body"]').text)["sub"] == "alice"
    assert f"GET {issuer}/me?from=e2e" in view.text
    click(driver, '[data-testid="test-close"]')

    # Another port on the same host is another origin: refused in the app, nothing sent.
    reads_before = audit_reads(sandbox, connected_account)
    field = one(driver, f'{PAGE} [data-testid="request-url"]')
    field.clear()
    field.send_keys("http://127.0.0.1:9/steal")
    click(driver, f'{PAGE} [data-testid="request-send"]')
    banner = one(driver, '[data-testid="error-banner"]')
    wait(driver).until(lambda d: "is not Local demo" in banner.text)
    assert issuer in banner.text, banner.text  # it says where requests may go
    assert not [e for e in css(driver, '[data-testid="test-view"]') if e.is_displayed()]
    assert audit_reads(sandbox, connected_account) == reads_before
    assert [r["detail"] for r in reads_before] == ["request GET " + issuer + "/me"], reads_before


def audit_reads(sandbox, account_id):
    """The account's token reads in the audit log (the query string is never recorded)."""
    events = json.loads(sandbox.cli("audit", "--json", "--account", account_id))
    return [e for e in events if e["consumer"]]


def refresh_the_account(driver):
    """Refresh on the only account's page, then waits until its expiry moved."""
    page = open_account(driver)
    account_id = page.get_attribute("data-account-id")
    before = page.get_attribute("data-expires-at")
    click(driver, f'{PAGE} [data-testid="refresh"]')
    shown = f'{PAGE}[data-account-id="{account_id}"]'
    wait(driver).until(
        lambda d: css(d, shown)
        and css(d, shown)[0].get_attribute("data-expires-at") not in ("", before)
        and css(d, shown)[0].get_attribute("data-status") == "connected"
    )


def test_refresh_moves_the_expiry(driver, sandbox, connected_account):
    refresh_the_account(driver)
    sandbox.remember_tokens(account_rows(driver)[0].get_attribute("data-account-id"))


@pytest.mark.smoke
def test_disconnect_confirms_then_revokes_and_forgets(driver, sandbox, connected_account):
    page = open_account(driver, connected_account)
    account_id = connected_account
    # What Disconnect does at the provider is said before the click.
    effect = page.find_element(By.CSS_SELECTOR, '[data-testid="disconnect-effect"]').text
    assert "revokes this account’s tokens at Local demo" in effect, effect
    click(driver, f'{PAGE} [data-testid="disconnect"]')
    dialog = one(driver, '[data-testid="confirm-dialog"]')
    assert "Alice Example" in dialog.text
    click(driver, '[data-testid="confirm-no"]')
    assert len(account_rows(driver)) == 1, "saying no changes nothing"
    click(driver, f'{PAGE} [data-testid="disconnect"]')
    click(driver, '[data-testid="confirm-yes"]')
    wait(driver).until(lambda d: not account_rows(d))
    # The page of a disconnected account closes: the (empty) list is shown.
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.view") == "accounts")
    assert sandbox.keychain(account_id) is None, "tokens deleted from the Secret Service"
    # This account's event: the fixtures revoke other accounts through the CLI too.
    kinds = [e["kind"] for e in json.loads(sandbox.cli("audit", "--json")) if e["account_id"] == account_id]
    assert "revoked" in kinds, kinds


def test_a_built_in_provider_is_set_up_from_its_guidance(driver, sandbox, github_unconfigured):
    nav(driver, "providers")
    row = one(driver, '[data-testid="provider-setup-row"][data-provider-id="github"]')
    row.find_element(By.CSS_SELECTOR, '[data-testid="setup-toggle"]').click()
    panel = one(driver, '[data-testid="provider-setup-row"][data-provider-id="github"] [data-testid="setup-panel"]')
    uris = [e.text for e in panel.find_elements(By.CSS_SELECTOR, '[data-testid="setup-redirect-uri"]')]
    assert "http://127.0.0.1/callback" in uris
    assert "github.com/settings/applications/new" in panel.text
    panel.find_element(By.CSS_SELECTOR, 'input[name="client_id"]').send_keys("Iv1.e2e-client")
    panel.find_element(By.CSS_SELECTOR, 'input[name="client_secret"]').send_keys("e2e-secret-value")
    snapshot(driver, "provider-setup")
    panel.find_element(By.CSS_SELECTOR, '[data-testid="setup-save"]').click()
    one(driver, '[data-testid="provider-row"][data-provider-id="github"]')
    assert sandbox.keychain("client-secret:github") == "e2e-secret-value"
    providers = json.loads(sandbox.cli("providers", "--json"))
    github = next(p for p in providers if p["id"] == "github")
    assert github["configured"] and github["client_id"] == "Iv1.e2e-client"


def choose_redirect(driver, provider_id, kind):
    nav(driver, "providers")
    select = one(driver, f'[data-provider-id="{provider_id}"] [data-testid="connect-redirect"]')
    Select(select).select_by_value(kind)


@pytest.mark.smoke
def test_custom_scheme_sign_in_comes_back_through_the_desktop(driver, sandbox, no_accounts):
    """The browser ends at io.github.connectedaccounts:/oauth/callback?…; `gio open` starts the
    registered handler (a second app instance), single-instance forwards the URL here."""
    sandbox.set_browser("approve")
    assert not account_rows(driver)
    choose_redirect(driver, "local-demo", "custom_scheme")
    connect(driver)
    row = one(driver, '[data-testid="account-page"][data-status="connected"]', seconds=40)
    assert row.find_element(By.CSS_SELECTOR, '[data-testid="account-name"]').text == "Alice Example"
    events = json.loads(sandbox.cli("audit", "--json"))
    started = next(e for e in events if e["kind"] == "flow_started")
    assert "io.github.connectedaccounts:/oauth/callback" in started["detail"], started
    sandbox.remember_tokens(row.get_attribute("data-account-id"))
    sandbox.cli("revoke", row.get_attribute("data-account-id"), "--yes")
    reload(driver, sandbox)
    assert not account_rows(driver)


def test_device_code_sign_in_in_the_window(driver, sandbox, no_accounts):
    sandbox.set_browser("approve")
    choose_redirect(driver, "local-demo", "device")
    connect(driver)
    panel = one(driver, '[data-testid="device-waiting"]')
    code = panel.find_element(By.CSS_SELECTOR, '[data-testid="device-user-code"]').text.strip()
    assert len(code) >= 8, code
    assert "/device" in panel.find_element(By.CSS_SELECTOR, '[data-testid="device-verification-uri"]').text
    snapshot(driver, "device-code")
    # The app opened the verification page with $BROWSER; polling finishes within a few intervals.
    row = one(driver, '[data-testid="account-page"][data-status="connected"]', seconds=60)
    assert "alice@example.test" in row.text
    sandbox.remember_tokens(row.get_attribute("data-account-id"))
    sandbox.cli("revoke", row.get_attribute("data-account-id"), "--yes")
    reload(driver, sandbox)
    assert not account_rows(driver)


def test_an_account_revoked_elsewhere_turns_needs_reconnect_by_itself_and_notifies(
        driver, sandbox, no_accounts, short_lived_provider, notifications):
    """Short-lived tokens (20 s) from a second real server; the grant is withdrawn at the server.
    With no click and no reload, the scheduler's refresh meets invalid_grant: the row changes over
    the watch channel, a desktop notification is shown, and one click reconnects the same account."""
    issuer = short_lived_provider
    sandbox.set_browser("approve")
    connect(driver, "short-demo")
    # A 20 s token is "expiring" from the start.
    row = one(driver, '[data-testid="account-page"][data-status="expiring"]')
    account_id = row.get_attribute("data-account-id")
    stored = sandbox.remember_tokens(account_id)
    form = urllib.parse.urlencode({
        "token": stored["refresh_token"], "token_type_hint": "refresh_token",
        "client_id": "connected-accounts-demo",
    }).encode()
    with urllib.request.urlopen(f"{issuer}/token/revocation", data=form) as r:
        assert r.status == 200

    one(driver, f'{PAGE}[data-account-id="{account_id}"][data-status="needs_reconnect"]', seconds=60)
    wait(driver, 20).until(lambda d: [n for n in notifications() if n["summary"] == "Reconnect Short demo"])
    note = next(n for n in notifications() if n["summary"] == "Reconnect Short demo")
    assert "Alice Example" in note["body"] and "Reconnect" in note["body"], note
    snapshot(driver, "needs-reconnect")

    click(driver, f'{PAGE}[data-account-id="{account_id}"] [data-testid="reconnect"]')
    one(driver, f'{PAGE}[data-account-id="{account_id}"][data-status="expiring"]', seconds=40)
    assert [r.get_attribute("data-account-id") for r in account_rows(driver)] == [account_id]
    sandbox.remember_tokens(account_id)
    # The same account's history runs on across the reconnect.
    kinds = [e["kind"] for e in json.loads(sandbox.cli("audit", "--json"))
             if e["account_id"] == account_id]
    assert "needs_reconnect" in kinds, kinds
    assert kinds.count("flow_completed") >= 2, kinds


@pytest.fixture
def window_tokens(driver, sandbox, no_accounts):
    """Tokens that went through this window, whatever ran before: a sign-in and two refreshes
    (seven tokens), recorded like the rest of the session's for the leak scan."""
    connect(driver)
    row = one(driver, '[data-testid="account-page"][data-status="connected"]')
    account_id = row.get_attribute("data-account-id")
    sandbox.remember_tokens(account_id)
    for _ in range(2):
        refresh_the_account(driver)
        sandbox.remember_tokens(account_id)


@pytest.mark.smoke
def test_no_token_reached_the_webview_its_storage_or_the_files(driver, sandbox, window_tokens):
    """Every token the keychain held during this session, searched for in every IPC reply the
    page received and in every file under the sandbox: the database, the trace-level logs, the
    webview's own storage and cache."""
    harvest_ipc(driver, sandbox)
    assert len(sandbox.tokens) >= 6, "tokens were recorded along the way"
    replies = "\n".join(sandbox.ipc)
    assert "alice@example.test" in replies, "the recorder saw the account replies"
    leaked = [t[:6] + "…" for t in sandbox.tokens if t in replies]
    assert leaked == [], f"tokens in IPC replies: {leaked}"
    files = [p for p in Path(sandbox.root).rglob("*") if p.is_file()]
    storage = Path(sandbox.env["XDG_DATA_HOME"]) / "io.github.connectedaccounts.ConnectedAccounts"
    assert any(storage in p.parents for p in files), "the webview's storage was scanned"
    assert any(p.suffix == ".log" or "log" in p.name for p in files), "the logs were scanned"
    hits = sorted({str(p) for p in files for t in sandbox.tokens if t.encode() in p.read_bytes()})
    assert hits == [], f"tokens found in {hits}"


def test_remove_all_my_data_revokes_everything_deletes_everything_and_quits(
        driver, sandbox, no_accounts, github_configured, app_quits, tray):
    """One account connected, a client secret stored, start at login on; the window's "Remove all
    my data" revokes and deletes it all, shows what it did, and its button quits. It may run anywhere: the next
    test gets a new app (`app_quits`) and the demo provider back (`driver`)."""
    sandbox.set_browser("approve")
    connect(driver)
    row = one(driver, '[data-testid="account-page"][data-status="connected"]')
    account_id = row.get_attribute("data-account-id")
    assert sandbox.keychain(account_id) and sandbox.keychain("client-secret:github")
    set_start_at_login(driver, True)
    entry = Path(sandbox.env["XDG_CONFIG_HOME"]) / "autostart" / "connected-accounts.desktop"
    assert entry.is_file()
    click(driver, '[data-testid="forget-all"]')
    dialog = one(driver, '[data-testid="confirm-dialog"]')
    assert "no undo" in dialog.text
    click(driver, '[data-testid="confirm-yes"]')
    report = one(driver, '[data-testid="forgotten"]', seconds=30)
    assert "Alice Example (Local demo)" in report.find_element(By.CSS_SELECTOR, '[data-testid="forgotten-revoked"]').text
    snapshot(driver, "forgotten")
    assert sandbox.keychain(account_id) is None
    assert sandbox.keychain("client-secret:github") is None
    assert not (Path(sandbox.env["XDG_DATA_HOME"]) / "connected-accounts").exists()
    assert not (Path(sandbox.env["XDG_STATE_HOME"]) / "connected-accounts").exists()
    assert not entry.exists(), "nothing starts at the next login"
    assert str(entry) in report.find_element(By.CSS_SELECTOR, '[data-testid="forgotten-removed"]').text
    try:
        click(driver, '[data-testid="quit"]')
    except WebDriverException:
        pass  # the app may quit before WebDriver hears back about the click
    assert app_gone(), "the app quit"
    # Nor did quitting write anything back (the window's size goes to the state folder).
    assert not (Path(sandbox.env["XDG_STATE_HOME"]) / "connected-accounts").exists()


def app_gone(seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if subprocess.run(["pgrep", "-f", "connected-accounts-app"], capture_output=True).returncode != 0:
            return True
        time.sleep(0.2)
    return False


def quit_from_the_page(driver):
    try:
        driver.execute_script("window.__TAURI_INTERNALS__.invoke('quit_app')")
    except WebDriverException:
        pass  # it may quit before WebDriver hears back
    assert app_gone(), "the app quit"


@pytest.fixture
def default_window_size(app):
    """Leaves the window at its default size: the app saves it at exit, for the next test."""
    yield
    app.driver.set_window_size(980, 720)
    app.stop()


def test_the_window_opens_at_the_size_and_place_it_was_left(app, driver, sandbox, default_window_size):
    saved = Path(sandbox.env["XDG_STATE_HOME"]) / "connected-accounts/window.json"
    driver.set_window_rect(x=37, y=23, width=900, height=650)
    wait(driver).until(lambda d: d.get_window_rect() == {"x": 37, "y": 23, "width": 900, "height": 650})
    quit_from_the_page(driver)
    assert json.loads(saved.read_text()) == {"x": 37, "y": 23, "width": 900, "height": 650, "maximized": False}
    app.stop()

    window = app.driver  # a new app process
    ready(window)
    assert window.get_window_rect() == {"x": 37, "y": 23, "width": 900, "height": 650}

    # A damaged file, or a place no screen shows (Xvfb's one screen is 1280x800), is ignored.
    for bad in ("{not json", json.dumps({"x": 5000, "y": 10, "width": 900, "height": 650})):
        quit_from_the_page(window)
        saved.write_text(bad)
        app.stop()
        window = app.driver
        ready(window)
        assert window.get_window_size() == {"width": 980, "height": 720}, bad


def test_each_account_says_which_program_last_read_its_token(driver, sandbox, connected_account):
    # This test's own Python reads the token, as a script would; the window learns it on its
    # next look at the activity (here, after a refresh).
    sandbox.cli("token", connected_account)
    refresh_the_account(driver)
    line = wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'{PAGE} [data-testid="account-last-read"]')
    )[0]
    wait(driver).until(lambda d: "(token)" in line.text)
    assert line.text.startswith("Used by python3") and ", just now · by " in line.text, line.text
    assert "Program: /" in line.get_attribute("title"), line.get_attribute("title")


def choose_policy(driver, account_id, policy):
    """Chooses an access policy on the account's page; waits until the backend's answer shows."""
    open_account(driver, account_id)
    click(driver, f'{PAGE} [data-testid="policy-{policy}"]')
    wait(driver).until(lambda d: css(d, f'{PAGE} [data-policy="{policy}"]'))


def test_the_access_policy_is_chosen_on_the_page_and_holds_for_programs(driver, sandbox, connected_account):
    choose_policy(driver, connected_account, "deny")
    assert json.loads(sandbox.cli("show", connected_account, "--json"))["policy"] == "deny"
    refused = subprocess.run([str(CLI), "token", connected_account], env=sandbox.env,
                             capture_output=True, text=True)
    assert (refused.returncode, refused.stdout) == (4, ""), refused
    assert "refused by your access policy" in refused.stderr
    # The command line may not loosen it; the person's click may.
    loosen = subprocess.run([str(CLI), "policy", connected_account, "allow"], env=sandbox.env,
                            capture_output=True, text=True)
    assert loosen.returncode == 4, loosen
    choose_policy(driver, connected_account, "allow")
    assert len(sandbox.cli("token", connected_account).strip()) > 20
    events = json.loads(sandbox.cli("audit", "--json", "--account", connected_account))
    assert [e["detail"] for e in events if e["kind"] == "policy_changed"] == ["deny → allow", "allow → deny"]
