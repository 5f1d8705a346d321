# SPDX-License-Identifier: MIT OR Apache-2.0
"""Refresh-token health, told through the real notification server (dunst): a sign-in that ends
soon is announced 7 days and 1 day ahead, and refreshing that breaks and heals is announced once
each. Time is driven by a second real server with 20 s access tokens, a sign-in limit set on it
through the command line, and an outage switched on at that server; the binary has no clock hook."""

import json
import time
import urllib.request

from helpers import PAGE, click, connect, css, one, wait


def summaries(notifications, text):
    return [n for n in notifications() if n["summary"] == text]


def audit_kinds(sandbox, account_id):
    return [e["kind"] for e in json.loads(sandbox.cli("audit", "--json")) if e["account_id"] == account_id]


def outage(issuer, on):
    req = urllib.request.Request(f"{issuer}/__outage/{'start' if on else 'stop'}", method="POST", data=b"")
    with urllib.request.urlopen(req) as r:
        assert json.load(r) == {"outage": on}


def test_a_sign_in_that_ends_soon_is_announced_a_week_and_a_day_ahead_once_each(
        driver, sandbox, no_accounts, short_lived_provider, notifications):
    # The server says nothing about its refresh tokens' lifetime: the person's limit for it does.
    sandbox.cli("providers", "lifetime", "short-demo", "--sign-in-max", "7d 12s")
    limits = json.loads(sandbox.cli("providers", "lifetime", "short-demo", "--json"))
    assert limits["sign_in_max_secs"] == 7 * 86400 + 12 and limits["set_by_you"], limits
    try:
        connect(driver, "short-demo")
        page = one(driver, f'{PAGE}[data-status="expiring"]')
        account_id = page.get_attribute("data-account-id")
        shown = one(driver, '[data-testid="account-lifetimes"]').text
        assert "Sign-in lasts until" in shown and "no end given" not in shown, shown
        ends = json.loads(sandbox.cli("show", account_id, "--json"))["sign_in_ends_at"]
        assert ends, "the account records when its sign-in ends"

        week = "Your Short demo sign-in ends in 7 days"
        wait(driver, 40).until(lambda d: summaries(notifications, week))
        assert "Alice Example" in summaries(notifications, week)[0]["body"]
        assert summaries(notifications, "Your Short demo sign-in ends tomorrow") == []

        # A reconnect under a 1-day limit: the week's warning is behind it, the day's comes.
        sandbox.cli("providers", "lifetime", "short-demo", "--sign-in-max", "1d 12s")
        connect(driver, "short-demo")
        one(driver, f'{PAGE}[data-account-id="{account_id}"]')
        day = "Your Short demo sign-in ends tomorrow"
        wait(driver, 40).until(lambda d: summaries(notifications, day))
        # Refreshes go on every 10 s; no warning is given twice.
        time.sleep(15)
        assert len(summaries(notifications, week)) == 1
        assert len(summaries(notifications, day)) == 1
        assert audit_kinds(sandbox, account_id).count("sign_in_ending") == 2
    finally:
        sandbox.cli("providers", "lifetime", "short-demo", "--sign-in-max", "none")


def test_refreshing_that_breaks_and_heals_is_announced_once_each(
        driver, sandbox, no_accounts, short_lived_provider, notifications):
    issuer = short_lived_provider
    connect(driver, "short-demo")
    page = one(driver, f'{PAGE}[data-status="expiring"]')
    account_id = page.get_attribute("data-account-id")
    sandbox.remember_tokens(account_id)

    failing = "Short demo sign-in is not refreshing"
    healed = "Short demo sign-in works again"
    outage(issuer, True)
    try:
        # The scheduler's refresh, 10 s in, meets the outage.
        wait(driver, 40).until(lambda d: summaries(notifications, failing))
        one(driver, f'{PAGE}[data-account-id="{account_id}"][data-status="error"]')
    finally:
        outage(issuer, False)
    assert summaries(notifications, healed) == []
    # The person presses Refresh; the notice that it works again follows.
    click(driver, f'{PAGE}[data-account-id="{account_id}"] [data-testid="refresh"]')
    wait(driver, 40).until(lambda d: summaries(notifications, healed))
    assert css(driver, f'{PAGE}[data-account-id="{account_id}"][data-status="expiring"]')
    # A refresh or two later: still one of each.
    time.sleep(12)
    assert len(summaries(notifications, failing)) == 1
    assert len(summaries(notifications, healed)) == 1
    kinds = audit_kinds(sandbox, account_id)
    assert kinds.count("refresh_failing") == 1 and kinds.count("refresh_recovered") == 1, kinds
    # The outage never cost the account its sign-in.
    assert sandbox.remember_tokens(account_id)["refresh_token"], "a refresh token after the outage"
