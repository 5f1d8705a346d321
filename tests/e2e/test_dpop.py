"""Tokens bound to this device in the real window (issue 19): an API added by its URL at a server
with DPoP on (oidc-provider) is connected with tokens bound to a key in the keychain; the page
says so, the request box reaches the API with proofs (the real resource server checks them), and
a 403 insufficient_scope offers step-up, which signs in again for the missing scope only when the
person clicks."""

import json

from selenium.webdriver.common.by import By

from conftest import reload, start_idp, stop
from helpers import PAGE, click, nav, one, wait
from test_registration import fill, start_api


def send_request(driver, url):
    field = one(driver, f'{PAGE} [data-testid="request-url"]')
    field.clear()
    field.send_keys(url)
    click(driver, f'{PAGE} [data-testid="request-send"]')
    view = one(driver, '[data-testid="test-view"]')
    wait(driver).until(lambda d: view.find_element(By.CSS_SELECTOR, '[data-testid="test-status"]').text.strip())
    return view


def test_a_bound_account_says_so_and_steps_up_from_the_request_box(driver, sandbox, no_accounts):
    idp, issuer = start_idp(IDP_REGISTRATION="open", IDP_DPOP="on")
    api, resource = start_api(issuer)
    try:
        sandbox.set_browser("approve")
        nav(driver, "providers")
        click(driver, '[data-testid="resource-open"]')
        fill(driver, one(driver, '[data-testid="resource-form"]'), "resource", resource)
        click(driver, '[data-testid="resource-submit"]')
        one(driver, '[data-testid="resource-question"]')
        click(driver, '[data-testid="resource-confirm"]')
        one(driver, f'{PAGE}[data-status="connected"] [data-testid="account-resource"]', seconds=40)
        account_id = one(driver, PAGE).get_attribute("data-account-id")
        stored = sandbox.remember_tokens(account_id)
        assert stored.get("dpop_key"), "the key is in the account's keychain entry"
        assert one(driver, f'{PAGE} [data-testid="account-bound"]').text.startswith("Bound to this device")

        # The API answers the bound token, sent with a proof.
        view = send_request(driver, resource)
        assert view.find_element(By.CSS_SELECTOR, '[data-testid="test-status"]').text.strip() == "200"
        assert json.loads(view.find_element(By.CSS_SELECTOR, '[data-testid="test-body"]').text)["bound"] is True
        assert not view.find_elements(By.CSS_SELECTOR, '[data-testid="step-up"]')
        click(driver, '[data-testid="test-close"]')

        # A path that needs api:write: 403, and the offer to add it.
        view = send_request(driver, f"{resource}/admin")
        assert view.find_element(By.CSS_SELECTOR, '[data-testid="test-status"]').text.strip() == "403"
        assert "api:write" in one(driver, '[data-testid="step-up"]').text
        click(driver, '[data-testid="step-up-connect"]')
        wait(driver, 40).until(lambda d: "api:write" in one(d, f'{PAGE} [data-testid="account-scopes"]').text)
        sandbox.remember_tokens(account_id)
        view = send_request(driver, f"{resource}/admin")
        assert view.find_element(By.CSS_SELECTOR, '[data-testid="test-status"]').text.strip() == "200"
        click(driver, '[data-testid="test-close"]')
        assert one(driver, f'{PAGE} [data-testid="account-bound"]')
    finally:
        for p in json.loads(sandbox.cli("providers", "--json")):
            if not p["builtin"] and p["issuer"] == issuer:
                sandbox.cli("providers", "remove", p["id"], "--yes", "--disconnect-accounts")
        reload(driver, sandbox)
        stop(api)
        stop(idp)
