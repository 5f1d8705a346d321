"""An account's policy "ask" in the real window: the command line asks the running app over its
socket, the window shows who asks (program, parents, folder, account, what for) and the person's
click decides. Real programs ask: bash and sh, started by this test."""

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import APP, CLI
from desktop import app_pids, shown, until
from helpers import PAGE, click, css, one, open_account, wait
from test_accessibility import assert_accessible

DIALOG = '[data-testid="approval-dialog"]'


class Call:
    """`connected-accounts ARGS` run by `shell` in the background (the shell is the program that
    asks); `result()` is its stdout, stderr and status."""

    def __init__(self, sandbox, display, shell, *args):
        script = '"$CLI" "$@"; echo "status=$?"'
        self.proc = subprocess.Popen(
            [shell, "-c", script, shell, *args],
            env={**sandbox.env, "CLI": str(CLI), "DISPLAY": display},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.out = None
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self):
        self.out = self.proc.communicate(timeout=120)

    def result(self, seconds=30):
        self.thread.join(seconds)
        assert self.out is not None, "the command line never ended"
        stdout, stderr = self.out
        printed, _, status = stdout.rstrip().rpartition("status=")
        return printed.strip(), stderr, int(status)


def armed_dialog(driver):
    dialog = one(driver, DIALOG)
    # The buttons are disabled for the first second (against click-jacking).
    assert not css(driver, f'{DIALOG} [data-testid="approval-once"]')[0].is_enabled()
    wait(driver).until(lambda d: css(d, f'{DIALOG}[data-armed="true"]'))
    return dialog


def no_dialog(driver):
    return not [e for e in css(driver, DIALOG) if e.is_displayed()]


@pytest.fixture
def asking_account(driver, sandbox, connected_account):
    sandbox.cli("policy", connected_account, "ask")
    yield connected_account
    # The test's approvals end with the account: a fresh one comes for the next test.


def test_a_token_call_is_asked_in_the_window_once_per_program_and_ended_there(
    driver, sandbox, display, notifications, asking_account
):
    call = Call(sandbox, display, "/usr/bin/bash", "token", asking_account)
    armed_dialog(driver)
    # A notification goes out too (some desktops do not raise a window that asks).
    wait(driver).until(lambda d: [n for n in notifications() if n["summary"] == "Connected Accounts asks you"])
    note = next(n for n in notifications() if n["summary"] == "Connected Accounts asks you")
    assert note["body"].startswith("bash wants a token for Alice Example (Local demo)"), note
    chain = one(driver, f'{DIALOG} [data-testid="approval-chain"]').text
    # bash, then its parent: this test's Python (no terminal here; a person's would follow).
    assert chain.startswith("bash ← python3"), chain
    assert one(driver, f'{DIALOG} [data-testid="approval-purpose"]').text == "a token"
    assert one(driver, f'{DIALOG} [data-testid="approval-account"]').text == "Alice Example (Local demo)"
    cwd = one(driver, f'{DIALOG} [data-testid="approval-cwd"]').text
    assert cwd.startswith("/"), cwd
    # Deny is the default: it has the focus.
    assert driver.switch_to.active_element.get_attribute("data-testid") == "approval-deny"
    assert_accessible(driver, "approval dialog")
    click(driver, f'{DIALOG} [data-testid="approval-session"]')
    token, err, status = call.result()
    assert status == 0 and len(token) > 20, err
    wait(driver).until(no_dialog)

    # The same program in the same session is not asked again.
    started = time.monotonic()
    token2, err, status = Call(sandbox, display, "/usr/bin/bash", "token", asking_account).result()
    assert status == 0 and len(token2) > 20, err
    assert no_dialog(driver)
    assert time.monotonic() - started < 10

    # A different program in the same session (sh, not bash) is asked; Deny gives exit 4.
    call = Call(sandbox, display, "/bin/sh", "token", asking_account)
    armed_dialog(driver)
    assert one(driver, f'{DIALOG} [data-testid="approval-chain"]').text.startswith(("dash ←", "sh ←"))
    click(driver, f'{DIALOG} [data-testid="approval-deny"]')
    printed, err, status = call.result()
    assert (printed, status) == ("", 4), err
    assert "you denied" in err

    # The approval is listed on the account's page; ending it there makes bash ask again.
    open_account(driver, asking_account)
    item = one(driver, f'{PAGE} [data-testid="live-approval"]')
    assert "bash in its session" in item.text, item.text
    click(driver, f'{PAGE} [data-testid="end-approval"]')
    wait(driver).until(lambda d: not css(d, f'{PAGE} [data-testid="live-approval"]'))
    call = Call(sandbox, display, "/usr/bin/bash", "token", asking_account)
    armed_dialog(driver)
    click(driver, f'{DIALOG} [data-testid="approval-once"]')
    token3, err, status = call.result()
    assert status == 0 and len(token3) > 20, err

    events = json.loads(sandbox.cli("audit", "--json", "--account", asking_account))
    kinds = [e["kind"] for e in events]
    assert "approval_given" in kinds and "approval_ended" in kinds, kinds
    refused = [e for e in events if e["kind"] == "read_refused"]
    assert refused and refused[0]["consumer"]["exe"] in ("/usr/bin/dash", "/bin/dash"), refused


def test_loosening_from_the_command_line_is_the_persons_click(driver, sandbox, display, asking_account):
    call = Call(sandbox, display, "/usr/bin/bash", "policy", asking_account, "allow")
    armed_dialog(driver)
    assert "allow" in one(driver, f'{DIALOG} [data-testid="approval-purpose"]').text
    click(driver, f'{DIALOG} [data-testid="approval-once"]')
    _, err, status = call.result()
    assert status == 0, err
    assert json.loads(sandbox.cli("show", asking_account, "--json"))["policy"] == "allow"
    open_account(driver, asking_account)
    wait(driver).until(lambda d: css(d, f'{PAGE} [data-policy="allow"]'))


def test_with_no_app_running_the_command_line_starts_it_and_the_question_shows(
    app, sandbox, display, notifications, asking_account, app_quits
):
    asks = lambda: [n for n in notifications()  # noqa: E731
                    if n["summary"] == "Connected Accounts asks you" and n["body"].startswith("bash wants")]
    before = len(asks())
    app.stop()
    until("the window's app to end", lambda: not app_pids(APP, sandbox.env["XDG_DATA_HOME"]), 30)
    call = Call(sandbox, display, "/usr/bin/bash", "token", asking_account)
    pid = until("the app, started by the command line",
                lambda: app_pids(APP, sandbox.env["XDG_DATA_HOME"]), 30)[0]
    # It started resident, and opened its window for the question, with a notification.
    until("the window with the question", lambda: shown(display), 30)
    until("the notification", lambda: len(asks()) > before)
    # Nobody answers in that window (it is not the one WebDriver drives): the app ends, and the
    # read is refused, never granted.
    os.kill(pid, signal.SIGTERM)
    printed, err, status = call.result()
    assert (printed, status) == ("", 4), err
    assert "refused by your access policy" in err


def test_locking_the_screen_ends_the_approvals_for_a_session(driver, sandbox, display, asking_account):
    call = Call(sandbox, display, "/usr/bin/bash", "token", asking_account)
    armed_dialog(driver)
    click(driver, f'{DIALOG} [data-testid="approval-session"]')
    assert call.result()[2] == 0
    # The desktop says the screen locked, as GNOME's and the freedesktop screen savers do.
    subprocess.run(["dbus-send", "--session", "--type=signal", "/org/gnome/ScreenSaver",
                    "org.gnome.ScreenSaver.ActiveChanged", "boolean:true"], env=sandbox.env, check=True)
    time.sleep(1)  # the signal reaches the app on its own connection
    call = Call(sandbox, display, "/usr/bin/bash", "token", asking_account)
    armed_dialog(driver)
    click(driver, f'{DIALOG} [data-testid="approval-deny"]')
    printed, err, status = call.result()
    assert (printed, status) == ("", 4), err
