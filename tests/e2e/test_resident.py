# SPDX-License-Identifier: MIT OR Apache-2.0
"""Resident mode on a real X server and session bus: the close button as a window manager sends
it (WM_DELETE_WINDOW), a panel's StatusNotifierWatcher (tray.py) that reads and clicks the tray
item's menu over D-Bus, a second launch of the same binary, and a start at login through the
entry the window writes, launched by GLib as a session manager would. Refreshing while the
window is closed is driven by a real server's 20 s tokens."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException

from conftest import APP
from desktop import app_pids, close_until, shown, until
from helpers import PAGE, click, connect, css, one, set_start_at_login


def the_app(sandbox):
    pids = app_pids(APP, sandbox.env["XDG_DATA_HOME"])
    assert len(pids) == 1, f"one app process, not {pids}"
    return pids[0]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.fixture(autouse=True)
def app_log_on_failure(request, sandbox):
    """What the app logged about closing and the tray, printed when a test here fails."""
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed == failed:
        return
    for log in Path(sandbox.env["XDG_STATE_HOME"]).glob("connected-accounts/logs/*"):
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if any(w in line for w in ("resident", "close", "tray", "window", "background", "notif", "WARN"))]
        print(f"{log}:", *lines[-40:], sep="\n")


def second_launch(sandbox, display, *args):
    """The binary started again, as the desktop's menu or a login would: it hands over and ends."""
    done = subprocess.run([str(APP), *args], env={**sandbox.env, "DISPLAY": display},
                          capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


def labels(tray, item):
    return [entry["label"] for entry in tray.menu(item)]


def test_closed_with_keep_running_it_stays_refreshes_and_comes_back_from_the_tray_and_a_second_launch(
        driver, sandbox, display, no_accounts, short_lived_provider, tray, app_quits, default_app_settings):
    connect(driver, "short-demo")
    account = {"id": one(driver, f'{PAGE}[data-status="expiring"]').get_attribute("data-account-id")}
    sandbox.remember_tokens(account["id"])
    pid = the_app(sandbox)

    # The first close asks; the answer is kept.
    close_until(display, "the close question", lambda: css(driver, '[data-testid="close-dialog"]'))
    click(driver, '[data-testid="close-keep"]')
    until("the window to go", lambda: not shown(display))
    assert alive(pid) and the_app(sandbox) == pid, "the process stays"

    item = tray.item()
    menu = labels(tray, item)
    assert menu == ["Open Connected Accounts", "Short demo: Alice Example — connected",
                    "Pause automatic refresh", "Quit Connected Accounts"], menu

    # Due with the window closed (20 s tokens): the resident process refreshes it.
    before = json.loads(sandbox.cli("show", account["id"], "--json"))["expires_at"]
    until("a refresh while the window is closed",
          lambda: json.loads(sandbox.cli("show", account["id"], "--json"))["expires_at"] != before, 40)
    sandbox.remember_tokens(account["id"])

    # The tray's Open builds the window again, in the same process.
    tray.click(item, "Open Connected Accounts")
    until("the window to open from the tray", lambda: shown(display))
    assert the_app(sandbox) == pid

    # The kept answer: no question this time.
    close_until(display, "the window to go again", lambda: not shown(display))
    assert alive(pid)

    # Launched again (the desktop's menu): the second process hands over and ends.
    second_launch(sandbox, display)
    until("the window to open from a second launch", lambda: shown(display))
    assert the_app(sandbox) == pid, "still one process"

    tray.click(item, "Quit Connected Accounts")
    until("the app to quit from the tray", lambda: not alive(pid), 15)


@pytest.fixture
def login_entry(sandbox):
    """Where "Start at login" writes its entry; removed afterwards whatever happened."""
    entry = Path(sandbox.env["XDG_CONFIG_HOME"]) / "autostart" / "connected-accounts.desktop"
    yield entry
    entry.unlink(missing_ok=True)


# Again on the installed package: its tray item loads libayatana-appindicator3 at run time, and
# the entry it writes names the installed binary.
@pytest.mark.smoke
def test_start_at_login_writes_a_valid_entry_and_a_start_through_it_paints_no_window_and_reads_no_secret(
        app, driver, sandbox, display, seeded_account, secret_reads, tray, default_app_settings, login_entry):
    set_start_at_login(driver, True)
    checked = subprocess.run(["desktop-file-validate", str(login_entry)], capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout
    assert f"\nExec={APP} --resident\n" in login_entry.read_text()
    app.stop()  # else the start below would hand over to that window's process

    # As a session manager starts it at login: from the entry, through GLib's launcher.
    secret_reads.reset()
    # Not captured: the app inherits gio's output, and would hold a pipe open until it ends.
    subprocess.run(["gio", "launch", str(login_entry)], env={**sandbox.env, "DISPLAY": display},
                   check=True, timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = until("the app started from the entry", lambda: app_pids(APP, sandbox.env["XDG_DATA_HOME"]))[0]
    try:
        item = tray.item()
        time.sleep(2)  # room for anything it might still paint or read
        assert not shown(display), "a start at login shows no window"
        assert secret_reads.count() == 0, "nothing read from the keychain: no account is due"
        assert "Local demo: Seeded Example — connected" in labels(tray, item)

        # Pausing from the tray is the setting the window shows.
        tray.click(item, "Pause automatic refresh")
        until("refresh to be paused", lambda: [e["toggle"] for e in tray.menu(item)
                                               if e["label"] == "Pause automatic refresh"] == [1])
        tray.click(item, "Pause automatic refresh")
        until("refresh to resume", lambda: [e["toggle"] for e in tray.menu(item)
                                            if e["label"] == "Pause automatic refresh"] == [0])

        # Another resident start does nothing; a plain one opens the window.
        second_launch(sandbox, display, "--resident")
        time.sleep(1)
        assert not shown(display)
        second_launch(sandbox, display)
        until("the window to open", lambda: shown(display))
        assert the_app(sandbox) == pid
        assert secret_reads.count() == 0, "the window's list reads no secret either"

        tray.click(item, "Quit Connected Accounts")
        until("the app to quit from the tray", lambda: not alive(pid), 15)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)

    # Switched off in the window, the entry is gone.
    set_start_at_login(app.driver, False)
    assert not login_entry.exists()


def test_with_no_tray_closing_quits_and_says_why_once(app, driver, sandbox, display, app_quits,
                                                       default_app_settings):
    # The first close says why it quits, in the window; its one button quits.
    until("the window", lambda: shown(display))
    pid = the_app(sandbox)
    close_until(display, "the reason it quits", lambda: css(driver, '[data-testid="closing-quits"]'))
    assert "no tray icons" in one(driver, '[data-testid="closing-quits"]').text
    try:
        click(driver, '[data-testid="closing-quits-ok"]')
    except WebDriverException:
        pass  # the app may quit before WebDriver hears back about the click
    until("the app to quit", lambda: not alive(pid), 15)
    app.stop()

    # Said once: the next close just quits.
    assert app.driver is not None
    until("the window", lambda: shown(display))
    pid = the_app(sandbox)
    # Nothing is clicked: it ends by itself.
    close_until(display, "the app to quit at once", lambda: not alive(pid))
