"""Accessibility, tested in the real window: axe-core on every view and dialog, and one
keyboard-only path (connect, test, change scopes, disconnect) with Tab, arrows, Enter and Escape.

axe-core is the project's npm dev dependency. Its bundled file is run with execute_script: a
WebDriver script runs in the page without being one of its resources, so the strict CSP stays as
shipped, and axe changes no built-in prototype, so freezePrototype holds. These tests run in the
main E2E pass only (not in the package stage's smoke subset)."""

import json
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from helpers import PAGE, click, css, nav, one, open_account, wait

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules/axe-core/axe.min.js"

# Incomplete results are axe saying "look at this yourself"; for contrast they are failures here.
RUN_AXE = """
const done = arguments[arguments.length - 1];
const pick = (r) => ({ id: r.id, impact: r.impact, help: r.help,
  nodes: r.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary || "" })) });
// Provider logos are brand marks (WCAG 1.4.3 exempts logotypes from contrast) and hidden from
// assistive technology: left out of the run.
const context = { include: [arguments[0] || "body"], exclude: [['[data-testid="provider-logo"]']] };
axe.run(context, { resultTypes: ["violations", "incomplete"] })
  .then((r) => done(JSON.stringify({ violations: r.violations.map(pick), incomplete: r.incomplete.map(pick) })))
  .catch((e) => done(JSON.stringify({ error: String(e) })));
"""


def axe(driver, within=None):
    """axe's serious and critical violations, and its unsure contrast checks, on the page."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text())
        assert driver.execute_script("return typeof window.axe === 'object'"), "axe-core loaded"
    driver.set_script_timeout(60)
    result = json.loads(driver.execute_async_script(RUN_AXE, within))
    assert "error" not in result, result
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    unsure = [v for v in result["incomplete"] if v["id"] == "color-contrast"]
    return bad + unsure


def assert_accessible(driver, what, within=None):
    problems = axe(driver, within)
    assert problems == [], f"{what}: " + json.dumps(problems, indent=1)


def view_of(driver):
    return driver.execute_script("return document.body.dataset.view")


@pytest.mark.parametrize("view", ["accounts", "providers", "activity", "settings"])
def test_every_view_passes_axe(driver, connected_account, view):
    nav(driver, view)
    assert_accessible(driver, view)


def test_the_account_page_and_the_empty_list_pass_axe(driver, sandbox, connected_account):
    open_account(driver, connected_account)
    assert_accessible(driver, "account page")
    sandbox.cli("revoke", connected_account, "--yes")
    driver.refresh()
    one(driver, '[data-testid="accounts-empty"]')
    assert_accessible(driver, "empty state")


def test_dialogs_pass_axe_trap_focus_and_give_it_back(driver, connected_account):
    open_account(driver, connected_account)
    click(driver, f'{PAGE} [data-testid="disconnect"]')
    dialog = one(driver, '[data-testid="confirm-dialog"]')
    assert_accessible(driver, "confirm dialog")
    # Tab never leaves the dialog while it is open.
    for _ in range(6):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        assert driver.execute_script(
            "return arguments[0].contains(document.activeElement)", dialog), "focus left the dialog"
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    wait(driver).until(lambda d: not css(d, '[data-testid="confirm-dialog"]'))
    assert driver.execute_script("return document.activeElement.dataset.testid") == "disconnect"

    click(driver, f'{PAGE} [data-testid="test"]')
    one(driver, '[data-testid="test-view"]')
    wait(driver).until(lambda d: d.find_element("css selector", '[data-testid="test-status"]').text.startswith("200"))
    assert_accessible(driver, "test view")
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    wait(driver).until(lambda d: not css(d, '[data-testid="test-view"]'))
    assert driver.execute_script("return document.activeElement.dataset.testid") == "test"

    nav(driver, "settings")
    click(driver, '[data-testid="forget-all"]')
    one(driver, '[data-testid="confirm-dialog"]')
    assert_accessible(driver, "remove-all dialog")
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    wait(driver).until(lambda d: not css(d, '[data-testid="confirm-dialog"]'))


def press(driver, *keys):
    ActionChains(driver).send_keys(*keys).perform()


def active(driver):
    return driver.execute_script(
        "const a = document.activeElement; return a ? (a.dataset.testid || a.tagName) : null")


def tab_to(driver, selector, limit=80):
    """Presses Tab (only Tab) until the focused element matches `selector`."""
    for _ in range(limit):
        if driver.execute_script("return document.activeElement && document.activeElement.matches(arguments[0])", selector):
            return
        press(driver, Keys.TAB)
    raise AssertionError(f"Tab never reached {selector}; focus is on {active(driver)}")


def test_connect_test_change_scopes_and_disconnect_with_the_keyboard_only(driver, sandbox, no_accounts):
    sandbox.set_browser("approve")
    tab_to(driver, '[data-testid="nav-accounts"]')
    press(driver, Keys.ARROW_DOWN)
    assert active(driver) == "nav-providers"
    press(driver, Keys.ENTER)
    wait(driver).until(lambda d: view_of(d) == "providers")

    tab_to(driver, '[data-provider-id="local-demo"] [data-testid="connect"]')
    press(driver, Keys.ENTER)
    page = one(driver, f'{PAGE}[data-status="connected"]')
    account_id = page.get_attribute("data-account-id")
    sandbox.remember_tokens(account_id)
    assert view_of(driver) == "account"

    tab_to(driver, f'{PAGE} [data-testid="test"]')
    press(driver, Keys.ENTER)
    wait(driver).until(lambda d: d.find_element("css selector", '[data-testid="test-status"]').text.startswith("200"))
    press(driver, Keys.ESCAPE)
    wait(driver).until(lambda d: not css(d, '[data-testid="test-view"]'))
    assert active(driver) == "test"

    tab_to(driver, f'{PAGE} [data-testid="change-scopes"]')
    press(driver, Keys.ENTER)
    assert active(driver) == "change-scopes-field"
    press(driver, Keys.END, " phone", Keys.ENTER)
    wait(driver).until(lambda d: css(d, f'{PAGE}[data-account-id="{account_id}"] [data-testid="scope-missing"]'))
    sandbox.remember_tokens(account_id)
    missing = [e.text for e in css(driver, f'{PAGE} [data-testid="scope-missing"]')]
    assert missing == ["phone"], missing

    tab_to(driver, f'{PAGE} [data-testid="disconnect"]')
    press(driver, Keys.ENTER)
    one(driver, '[data-testid="confirm-dialog"]')
    tab_to(driver, '[data-testid="confirm-yes"]')
    press(driver, Keys.ENTER)
    wait(driver).until(lambda d: view_of(d) == "accounts" and not css(d, '[data-testid="account-item"]'))
    assert sandbox.keychain(account_id) is None
