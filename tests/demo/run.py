#!/usr/bin/python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The README's first command, tried the way a new user does.

Runs `CA_DEMO_AUTO=1 scripts/demo.sh` on a private X server (Xvfb, which picks its own free
display number: no lock-file race, no cookie), with a new HOME and new XDG folders (so a fresh
demo profile) and no session bus (so demo.sh's own private keyring), then, from outside:

  * finds the window the demo opened and reads it through the accessibility tree (AT-SPI, as a
    screen reader would): it must be showing, and its first-run screen must offer the demo server;
  * presses "Try it with the demo server"; the scripted browser (CA_DEMO_AUTO=1) signs in as alice;
  * waits for the account to appear in the window, and checks it with the command line too;
  * presses Ctrl-C as a terminal does (SIGINT to the demo's process group): the demo must end
    with no error, and leave nothing running (no process of its session, its port closed).

Run with the system Python (AT-SPI comes from python3-gi and gir1.2-atspi-2.0):
    /usr/bin/python3 tests/demo/run.py
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/connected-accounts/target"))
CLI = TARGET / "debug" / "connected-accounts"
# The first run of demo.sh builds the app (about 20 min cold here); in scripts/test.sh it is built.
START_TIMEOUT = float(os.environ.get("CA_DEMO_TEST_START_TIMEOUT", "3600"))


def log(*args):
    print("demo-test:", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def session_processes(sid):
    """(pid, argv) of every process in session `sid` (the demo runs in a session of its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the command's closing parenthesis: state ppid pgrp session ...
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) != sid:
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            found.append((int(entry.name), [a.decode(errors="replace") for a in argv if a]))
        except (OSError, ValueError):
            continue
    return found


def terminal_signals():
    """Ctrl-C and Ctrl-\\ as a terminal's foreground job has them. A shell that started this test
    in the background (`.ci/run &`, as CI may) left SIGINT and SIGQUIT ignored, and every process
    of the demo would inherit that: our Ctrl-C would then reach only Xvfb, which sets its own
    handler, and the app would end with an error because its display went away."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def fresh_env(root: Path, port: int):
    """A new user's environment: new HOME and XDG folders, no desktop, no session bus."""
    home = root / "home"
    home.mkdir()
    env = {
        k: v for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "NO_AT_BRIDGE",
                     "BROWSER", "CONNECTED_ACCOUNTS_PROFILE", "CA_TEST_KEYRING")
        and not k.startswith("XDG_")
    }
    env.update({
        "HOME": str(home),
        # The toolchain and the build stay where they are: a new HOME must not mean a new
        # crate registry (that is a cold build, measured separately).
        "CARGO_HOME": os.environ.get("CARGO_HOME", str(Path.home() / ".cargo")),
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup")),
        "CARGO_TARGET_DIR": str(TARGET),
        "XDG_RUNTIME_DIR": str(root / "runtime"),
        "CA_DEMO_AUTO": "1",
        "CA_DEMO_PORT": str(port),
    })
    (root / "runtime").mkdir(mode=0o700)
    return env


def start_display(log):
    """A private X server; its number is chosen by Xvfb itself (-displayfd). Its messages go to
    `log`, shown should the demo fail."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=[write], stdout=log, stderr=log,
    )
    os.close(write)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(read, 16)
        if not chunk:
            raise AssertionError(f"Xvfb did not start (status {xvfb.wait()})")
        number += chunk
    os.close(read)
    return xvfb, f":{number.decode().strip()}"


def wait_for(what, check, timeout, demo=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        if demo is not None and demo.poll() is not None:
            raise AssertionError(f"the demo ended (status {demo.returncode}) before {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Window:
    """The app's window as its accessibility tree shows it (AT-SPI)."""

    def __init__(self, app_env):
        # The client finds the accessibility bus through the app's display and session bus.
        os.environ["DISPLAY"] = app_env["DISPLAY"]
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = app_env["DBUS_SESSION_BUS_ADDRESS"]
        import gi
        gi.require_version("Atspi", "2.0")
        from gi.repository import Atspi
        self.Atspi = Atspi

    def app(self):
        desktop = self.Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            child = desktop.get_child_at_index(i)
            if child is not None and (child.get_name() or "").lower().replace(" ", "-").startswith("connected-accounts"):
                child.clear_cache()
                return child
        return None

    def nodes(self):
        """Every accessible of the app, with its role, name and text."""
        app = self.app()
        if app is None:
            return []
        out, stack = [], [app]
        while stack and len(out) < 20000:
            node = stack.pop()
            try:
                role = node.get_role_name()
                name = node.get_name() or ""
                text = ""
                if "Text" in node.get_interfaces():
                    text = self.Atspi.Text.get_text(node, 0, -1) or ""
                showing = node.get_state_set().contains(self.Atspi.StateType.SHOWING)
                out.append({"node": node, "role": role, "name": name, "text": text, "showing": showing})
                stack.extend(node.get_child_at_index(i) for i in range(node.get_child_count()))
            except Exception:  # a node that went away while we walked
                continue
        return out

    def find(self, role=None, name=None, text=None):
        for n in self.nodes():
            if role and n["role"] != role:
                continue
            if name is not None and n["name"] != name:
                continue
            if text is not None and text not in n["text"] and text != n["name"]:
                continue
            return n
        return None


def main():
    root = Path(tempfile.mkdtemp(prefix="ca-demo-test-"))
    port = free_port()
    env = fresh_env(root, port)
    out = open(root / "demo.log", "w")
    xvfb_log = open(root / "xvfb.log", "w")
    xvfb, display = start_display(xvfb_log)
    env["DISPLAY"] = display
    log(f"running CA_DEMO_AUTO=1 scripts/demo.sh (HOME={env['HOME']}, port {port}, display {display})")
    started = time.time()
    demo = subprocess.Popen(["scripts/demo.sh"], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=terminal_signals)
    sid = demo.pid
    ok = False
    try:
        def app_process():
            for pid, argv in session_processes(sid):
                if argv and Path(argv[0]).name == "connected-accounts-app":
                    return pid
            return None

        app_pid = wait_for("the app to start", app_process, START_TIMEOUT, demo)
        environ = dict(
            kv.split("=", 1) for kv in
            Path(f"/proc/{app_pid}/environ").read_bytes().decode(errors="replace").split("\0") if "=" in kv
        )
        log(f"app started after {time.time() - started:.1f} s (pid {app_pid}, display {environ.get('DISPLAY')})")
        assert environ.get("CONNECTED_ACCOUNTS_PROFILE") == "demo", "the app runs in the demo profile"

        window = Window(environ)
        frame = wait_for("the window to show",
                         lambda: window.find(role="frame", name="Connected Accounts"), 60, demo)
        assert frame["showing"], "the window is showing"
        # A first run of the demo: the empty list offers the demo's server, one click away.
        first = wait_for("the first-run button", lambda: window.find(role="push button", name="Try it with the demo server"), 30, demo)
        log(f"window offers the demo server after {time.time() - started:.1f} s; pressing it")
        window.Atspi.Action.do_action(first["node"], 0)
        wait_for("the connected account in the window",
                 lambda: window.find(text="Alice Example"), 60, demo)
        log(f"account shown in the window after {time.time() - started:.1f} s")

        cli_env = {**env, "CONNECTED_ACCOUNTS_PROFILE": "demo"}
        listed = json.loads(subprocess.run([str(CLI), "list", "--json"], env=cli_env, check=True,
                                           capture_output=True, text=True).stdout)
        assert [(a["provider"], a["display_name"], a["status"]) for a in listed] == [
            ("local-demo", "Alice Example", "connected")], listed

        # Ctrl-C, as a terminal sends it: to the whole foreground process group.
        os.killpg(demo.pid, signal.SIGINT)
        try:
            status = demo.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError("the demo did not stop within 30 s of Ctrl-C")
        # Ended by the interrupt itself (killed by it, or a shell reports 128 + 2); any other
        # status is a failure of the demo.
        assert status in (0, 130, -signal.SIGINT), f"the demo ended with status {status}"
        wait_for("no process of the demo left", lambda: not session_processes(sid), 10)
        assert not port_open(port), f"the demo server still listens on {port}"
        text = (root / "demo.log").read_text(errors="replace")
        # Our command line's failures start a line with "error:"; the D-Bus daemons' notes do not.
        failures = [line for line in text.splitlines() if line.startswith("error:")]
        assert not failures, text
        ok = True
        log(f"passed in {time.time() - started:.1f} s")
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        for pid, argv in session_processes(sid):
            log(f"left running: {pid} {' '.join(argv)}")
            os.kill(pid, signal.SIGKILL)
        out.close()
        xvfb.terminate()
        xvfb.wait(10)
        xvfb_log.close()
        if not ok:
            log("the demo's output:")
            sys.stderr.write((root / "demo.log").read_text(errors="replace"))
            log("the X server's output:")
            sys.stderr.write((root / "xvfb.log").read_text(errors="replace"))
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
