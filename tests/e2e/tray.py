#!/usr/bin/python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The desktop's side of a tray item, on the session bus, as a panel does it (Gio, from the system
Python's python3-gi):

  tray.py watch                  owns org.kde.StatusNotifierWatcher, says a host is registered,
                                 and prints one JSON line per item that registers:
                                 {"ready": true}, then {"service": ":1.7", "path": "/org/…"}
  tray.py menu SERVICE PATH      prints the item's menu as JSON: [{"id": 1, "label": "…",
                                 "enabled": true, "toggle": null|0|1}, …]
  tray.py click SERVICE PATH L   sends "clicked" to the menu entry labelled L (com.canonical.dbusmenu)

Nothing here is the app's: it is what GNOME Shell's AppIndicator extension or KDE's panel does.
"""

import json
import sys

from gi.repository import Gio, GLib

WATCHER = """<node><interface name="org.kde.StatusNotifierWatcher">
  <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
  <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
  <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
  <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
  <property name="ProtocolVersion" type="i" access="read"/>
  <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
  <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
  <signal name="StatusNotifierHostRegistered"/>
</interface></node>"""


def watch():
    items = []
    loop = GLib.MainLoop()

    def on_call(conn, sender, path, iface, method, params, invocation):
        if method == "RegisterStatusNotifierItem":
            (arg,) = params.unpack()
            # The spec allows a bus name or an object path (AppIndicator sends its path).
            service, obj = (sender, arg) if arg.startswith("/") else (arg, "/StatusNotifierItem")
            items.append(service + obj)
            print(json.dumps({"service": service, "path": obj}), flush=True)
            invocation.return_value(None)
            conn.emit_signal(None, path, iface, "StatusNotifierItemRegistered",
                             GLib.Variant("(s)", (service + obj,)))
        else:
            invocation.return_value(None)

    def on_get(conn, sender, path, iface, prop):
        return {
            "RegisteredStatusNotifierItems": GLib.Variant("as", items),
            "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
            "ProtocolVersion": GLib.Variant("i", 0),
        }[prop]

    def on_bus(conn, _name):
        info = Gio.DBusNodeInfo.new_for_xml(WATCHER).interfaces[0]
        conn.register_object("/StatusNotifierWatcher", info, on_call, on_get, None)

    def on_name(_conn, _name):
        print(json.dumps({"ready": True}), flush=True)

    def on_lost(_conn, _name):
        print(json.dumps({"lost": True}), flush=True)
        loop.quit()

    Gio.bus_own_name(Gio.BusType.SESSION, "org.kde.StatusNotifierWatcher",
                     Gio.BusNameOwnerFlags.NONE, on_bus, on_name, on_lost)
    loop.run()


def call(bus, service, path, iface, method, args, reply):
    return bus.call_sync(service, path, iface, method, args, GLib.VariantType(reply),
                         Gio.DBusCallFlags.NONE, 5000, None).unpack()


def entries(bus, service, path):
    (menu,) = call(bus, service, path, "org.freedesktop.DBus.Properties", "Get",
                   GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", "Menu")), "(v)")
    _, layout = call(bus, service, menu, "com.canonical.dbusmenu", "GetLayout",
                     GLib.Variant("(iias)", (0, -1, [])), "(u(ia{sv}av))")
    out = []

    def walk(node):
        node_id, props, children = node
        if node_id != 0 and props.get("type") != "separator":
            out.append({
                "id": node_id,
                # dbusmenu marks the access key with "_"; a person reads the label without it.
                "label": props.get("label", "").replace("__", "\0").replace("_", "").replace("\0", "_"),
                "enabled": props.get("enabled", True),
                "toggle": props.get("toggle-state"),
            })
        for child in children:
            walk(child)

    walk(layout)
    return menu, out


def main():
    mode = sys.argv[1]
    if mode == "watch":
        return watch()
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    service, path = sys.argv[2], sys.argv[3]
    menu, items = entries(bus, service, path)
    if mode == "menu":
        print(json.dumps(items))
        return
    label = sys.argv[4]
    found = [i for i in items if i["label"] == label]
    if not found:
        sys.exit(f"no menu entry {label!r} in {[i['label'] for i in items]}")
    call(bus, service, menu, "com.canonical.dbusmenu", "Event",
         GLib.Variant("(isvu)", (found[0]["id"], "clicked", GLib.Variant("i", 0), 0)), "()")


if __name__ == "__main__":
    main()
