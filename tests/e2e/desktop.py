"""The desktop around the window, as a window manager and a panel see it: the app's top-level
window on the X server (python-xlib), the close button's request (WM_DELETE_WINDOW, what every
window manager sends), the app's processes, and the tray (tray.py, a StatusNotifierWatcher)."""

import json
import os
import subprocess
import threading
import time
from pathlib import Path

TITLE = "Connected Accounts"
TRAY = Path(__file__).with_name("tray.py")


def find_window(window, title):
    try:
        if window.get_wm_name() == title and window.get_attributes().map_state:
            return window
        children = window.query_tree().children
    except Exception:  # a window that went away while we looked
        return None
    for child in children:
        found = find_window(child, title)
        if found is not None:
            return found
    return None


def shown(display_name):
    """Whether the app's window is on screen (mapped)."""
    from Xlib import display as xdisplay
    d = xdisplay.Display(display_name)
    try:
        return find_window(d.screen().root, TITLE) is not None
    finally:
        d.close()


def press_close(display_name):
    """What a window manager does for the title bar's close button: WM_DELETE_WINDOW."""
    from Xlib import X, display as xdisplay, protocol
    d = xdisplay.Display(display_name)
    try:
        window = find_window(d.screen().root, TITLE)
        assert window is not None, "no window to close"
        protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
        event = protocol.event.ClientMessage(window=window, client_type=protocols,
                                             data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        window.send_event(event, event_mask=X.NoEventMask)
        d.flush()
    finally:
        d.close()


def close_until(display_name, what, reacted, timeout=20):
    """Presses the close button until the app reacts (`reacted()` is true), as a person presses it
    again. Measured: GTK now and then drops the first WM_DELETE_WINDOW of a window under Xvfb with
    no window manager, with nothing in the app's log; a second press is handled."""
    deadline = time.time() + timeout
    presses = 0
    while time.time() < deadline:
        if presses < 3 and shown(display_name):
            press_close(display_name)
            presses += 1
        step = time.time() + 3
        while time.time() < min(step, deadline):
            if reacted():
                if presses > 1:
                    print(f"the close button took {presses} presses")
                return
            time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} ({presses} presses)")


def app_pids(app, data_home):
    """The app's processes running over this sandbox's data."""
    want = os.path.realpath(app)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.path.realpath(entry / "exe") != want:
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"XDG_DATA_HOME={data_home}".encode() in environ:
            found.append(int(entry.name))
    return found


def until(what, check, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Tray:
    """A panel's StatusNotifierWatcher on the session bus, and a reader of the items' menus."""

    def __init__(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", str(TRAY), "watch"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}, "the watcher owns its name"
        self.items = []
        threading.Thread(target=self._read, daemon=True).start()

    def item(self, timeout=20):
        """The first item that registers: (service, path)."""
        until("a tray item to register", lambda: self.items, timeout)
        return self.items[0]

    def _read(self):
        for line in self.proc.stdout:
            entry = json.loads(line)
            if "service" in entry:
                self.items.append((entry["service"], entry["path"]))

    def menu(self, item):
        out = subprocess.run(["/usr/bin/python3", str(TRAY), "menu", *item], capture_output=True, text=True,
                             check=True, timeout=10)
        return json.loads(out.stdout)

    def click(self, item, label):
        subprocess.run(["/usr/bin/python3", str(TRAY), "click", *item, label], check=True, timeout=10)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)
