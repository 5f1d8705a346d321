"""Any server, no app registration, in the real window (issue 18): a server added by its issuer
alone (the app registers itself at the real oidc-provider, which matches redirect ports exactly),
a client registered by hand with its exact redirect URI typed in "Advanced", and an API added by
its URL (RFC 9728), confirmed, signed in for, and tested against."""

import json
import subprocess
import urllib.request

from selenium.webdriver.common.by import By

from conftest import ROOT, reload, start_idp, stop
from helpers import PAGE, click, connect, css, nav, one, wait


def start_api(issuer):
    proc = subprocess.Popen(
        ["node", str(ROOT / "tests/idp/resource.mjs")],
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "RS_ISSUER": issuer, "RS_EXIT_ON_STDIN_EOF": "1"},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    return proc, json.loads(proc.stdout.readline())["resource"]


def fill(driver, form, name, value):
    field = form.find_element(By.CSS_SELECTOR, f'[name="{name}"]')
    field.clear()
    field.send_keys(value)


def add_provider(driver, **fields):
    nav(driver, "providers")
    click(driver, '[data-testid="add-provider-open"]')
    form = one(driver, '[data-testid="add-provider-form"]')
    if "redirect_uris" in fields:
        click(driver, '[data-testid="add-provider-advanced"] summary')
    for name, value in fields.items():
        fill(driver, form, name, value)
    click(driver, '[data-testid="add-provider-submit"]')
    wait(driver).until(lambda d: not one(d, '[data-testid="add-provider-open"]').get_attribute("aria-expanded") == "true")


def connected_page(driver, provider_id):
    return one(driver, f'{PAGE}[data-status="connected"][data-provider-id="{provider_id}"]', seconds=40)


def test_servers_and_apis_are_added_by_their_urls_alone(driver, sandbox, no_accounts):
    idp, issuer = start_idp(IDP_REGISTRATION="open", IDP_EXACT_REDIRECTS="1")
    api, resource = start_api(issuer)
    try:
        sandbox.set_browser("approve")
        # By issuer alone: registered, then connected through the exact port it registered.
        add_provider(driver, issuer=issuer, name="Self registered")
        row = one(driver, '[data-provider-id="self-registered"]')
        assert "The app registered itself here" in row.text
        connect(driver, "self-registered")
        page = connected_page(driver, "self-registered")
        sandbox.remember_tokens(page.get_attribute("data-account-id"))

        # A client registered by hand, with the exact redirect URI typed in "Advanced".
        request = urllib.request.Request(
            f"{issuer}/reg", method="POST", headers={"content-type": "application/json"},
            data=json.dumps({
                "redirect_uris": ["http://127.0.0.1:28777/by-hand/cb"], "application_type": "native",
                "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
            }).encode(),
        )
        client_id = json.loads(urllib.request.urlopen(request, timeout=10).read())["client_id"]
        add_provider(driver, issuer=issuer, client_id=client_id, name="By hand",
                     redirect_uris="http://127.0.0.1:28777/by-hand/cb")
        assert "Signs in through http://127.0.0.1:28777/by-hand/cb" in one(driver, '[data-provider-id="by-hand"]').text
        connect(driver, "by-hand")
        page = connected_page(driver, "by-hand")
        sandbox.remember_tokens(page.get_attribute("data-account-id"))

        # An API by its URL: on another port than its server, so the person confirms first.
        nav(driver, "providers")
        click(driver, '[data-testid="resource-open"]')
        fill(driver, one(driver, '[data-testid="resource-form"]'), "resource", resource)
        click(driver, '[data-testid="resource-submit"]')
        question = one(driver, '[data-testid="resource-question"]')
        assert f"{resource} will receive tokens from {issuer}" in question.text
        click(driver, '[data-testid="resource-confirm"]')
        page = one(driver, f'{PAGE}[data-status="connected"] [data-testid="account-resource"]', seconds=40)
        assert page.text == f"Tokens for {resource} only"
        # Signed in at the server through the app's own registration there.
        assert one(driver, PAGE).get_attribute("data-provider-id") == "self-registered"
        account_id = one(driver, PAGE).get_attribute("data-account-id")
        sandbox.remember_tokens(account_id)
        click(driver, f'{PAGE} [data-testid="test"]')
        view = one(driver, '[data-testid="test-view"]')
        wait(driver).until(lambda d: view.find_element(By.CSS_SELECTOR, '[data-testid="test-status"]').text.strip().startswith("200"))
        body = json.loads(view.find_element(By.CSS_SELECTOR, '[data-testid="test-body"]').text)
        assert body["aud"] == resource
        click(driver, '[data-testid="test-close"]')
        # No other provider was added for the API's server.
        providers = json.loads(sandbox.cli("providers", "--json"))
        assert sorted(p["id"] for p in providers if p["issuer"] == issuer) == ["by-hand", "self-registered"]
    finally:
        for provider in ("self-registered", "by-hand"):
            sandbox.cli("providers", "remove", provider, "--yes", "--disconnect-accounts")
        reload(driver, sandbox)
        stop(api)
        stop(idp)
    assert not css(driver, '[data-provider-id="self-registered"]')
