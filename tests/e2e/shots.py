"""The window's pictures for docs/screenshots/: run by scripts/screenshots.sh, once per theme
(CA_SHOTS_THEME=light|dark, with GTK_THEME set to match). Not collected by the test run: pixels
are not compared anywhere (the accessible structure is, in ui/src/structure.test.ts); each
scene still checks it shows what it is named for before it is saved."""

import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from conftest import DISPLAY_NAME, reload, settle
from helpers import PAGE, account_rows, click, nav, one, open_account, wait
from screen import save_window

THEME = os.environ.get("CA_SHOTS_THEME", "light")
OUT = Path(os.environ.get("CA_SHOTS_DIR", Path(__file__).resolve().parents[2] / "docs/screenshots"))
# The window's default size (tauri.conf.json) and its narrowest (its minWidth).
SIZES = {"": (980, 720), "-narrow": (640, 720)}
PEOPLE = ("alice", "bob", "carol")


def shoot(driver, view, arrange=None):
    """One picture per size: `<view>-<theme>.png` and `<view>-narrow-<theme>.png`. `arrange`
    runs after each resize (a scroll position does not survive one)."""
    dark = driver.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches")
    assert dark == (THEME == "dark"), f"the page is not in the {THEME} theme"
    for suffix, (width, height) in SIZES.items():
        driver.set_window_size(width, height)
        wait(driver).until(lambda d: d.execute_script("return innerWidth") == width)
        if arrange:
            arrange()
        settle(driver)
        save_window(DISPLAY_NAME[0], OUT / f"{view}{suffix}-{THEME}.png")
    driver.set_window_size(*SIZES[""])


@pytest.fixture
def several_accounts(driver, sandbox, short_lived_provider):
    sandbox.revoke_all()
    for login in PEOPLE:
        sandbox.cli("connect", "local-demo", "--json", env={"CA_TEST_LOGIN": login})
    sandbox.cli("connect", "short-demo", "--json", env={"CA_TEST_LOGIN": "dana"})
    reload(driver, sandbox)


def test_accounts(driver, several_accounts):
    wait(driver).until(lambda d: len(account_rows(d)) == len(PEOPLE) + 1)
    shoot(driver, "accounts")


def test_account(driver, several_accounts):
    page = open_account(driver)
    assert page.find_element(By.CSS_SELECTOR, '[data-testid="account-scopes"]').is_displayed()
    shoot(driver, "account")


def test_setup(driver, sandbox, github_unconfigured):
    nav(driver, "providers")
    row = '[data-testid="provider-setup-row"][data-provider-id="github"]'
    click(driver, f'{row} [data-testid="setup-toggle"]')
    panel = one(driver, f'{row} [data-testid="setup-panel"]')
    assert "redirect URI" in panel.text
    shoot(driver, "setup", lambda: driver.execute_script(
        "document.querySelector('[data-testid=\"setup-providers\"]').scrollIntoView({block: 'start'})"))


def test_empty(driver, sandbox, no_accounts):
    one(driver, '[data-testid="accounts-empty"]')
    shoot(driver, "empty")
