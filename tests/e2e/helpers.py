"""What the window's tests do with it: wait, find, click, and move between its views."""

from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def wait(driver, seconds=20):
    # The list re-renders after each action, so an element found a moment ago may be replaced;
    # the condition is simply tried again.
    return WebDriverWait(driver, seconds, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def one(driver, selector, seconds=20):
    return wait(driver, seconds).until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))


def click(driver, selector, seconds=20):
    """Clicks once the element can take it: a closing dialog leaves the page inert for a moment,
    and a re-render replaces elements, so a refused click is simply tried again."""

    def attempt(d):
        try:
            EC.element_to_be_clickable((By.CSS_SELECTOR, selector))(d).click()
            return True
        except (ElementNotInteractableException, ElementClickInterceptedException, AttributeError):
            return False

    wait(driver, seconds).until(attempt)


def account_rows(driver):
    """The accounts list's lines (in the DOM whichever view is shown)."""
    return css(driver, '[data-testid="account-item"]')


PAGE = '[data-testid="account-page"]'


def open_account(driver, account_id=None):
    """Opens an account's page from the list (the first account's by default)."""
    if account_id is None:
        account_id = account_rows(driver)[0].get_attribute("data-account-id")
    shown = [p for p in css(driver, PAGE) if p.is_displayed()]
    if shown and shown[0].get_attribute("data-account-id") == account_id:
        return shown[0]
    nav(driver, "accounts")
    click(driver, f'[data-testid="account-item"][data-account-id="{account_id}"] [data-testid="account-open"]')
    return one(driver, f'{PAGE}[data-account-id="{account_id}"]')


def nav(driver, view):
    """Opens one of the window's views from the sidebar."""
    click(driver, f'[data-testid="nav-{view}"]')
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.view") == view)


def connect(driver, provider_id="local-demo"):
    """Connect on a provider's row in the Providers view (the window then shows the accounts)."""
    nav(driver, "providers")
    click(driver, f'[data-provider-id="{provider_id}"] [data-testid="connect"]')


def set_start_at_login(driver, on):
    """Ticks or clears Settings' "Start at login" and waits until the app says it is so."""
    nav(driver, "settings")
    box = one(driver, '[data-testid="start-at-login"]')
    wait(driver).until(lambda d: box.is_enabled())
    if box.is_selected() != on:
        box.click()
    wait(driver).until(lambda d: one(d, '[data-testid="start-at-login"]').is_selected() == on)
