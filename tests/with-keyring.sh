#!/usr/bin/env bash
# Runs a command with a private D-Bus session bus and a real gnome-keyring Secret Service in it,
# unlocked, isolated from the user's own keyring (recipe: shared/docs/test-servers.md).
#   tests/with-keyring.sh COMMAND [ARGS...]
set -euo pipefail

if [ "${1:-}" != "--inner" ]; then
  keyring_home=$(mktemp -d -t ca-keyring.XXXXXX)
  trap 'rm -rf "$keyring_home"' EXIT
  # The keyring's files go to this temporary data home; the command gets the original one back.
  export CA_OUTER_XDG_DATA_HOME="${XDG_DATA_HOME:-}"
  XDG_DATA_HOME="$keyring_home" dbus-run-session -- "$0" --inner "$@"
  exit $?
fi
shift

# A non-empty password creates and unlocks the login collection (an empty one creates none).
printf 'ca-test-password' | gnome-keyring-daemon --foreground --unlock --components=secrets \
  >/dev/null 2>&1 &
daemon=$!
cleanup() { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
trap cleanup EXIT

# Wait for the daemon to own the name, without activating a second one.
for _ in $(seq 1 100); do
  owned=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | awk '/boolean/ {print $2}')
  [ "$owned" = "true" ] && break
  sleep 0.05
done
if [ "${owned:-}" != "true" ]; then
  echo "with-keyring: gnome-keyring-daemon did not start (is gnome-keyring installed?)" >&2
  exit 1
fi
# And until its login collection exists as the default: a client that came earlier would try to
# create one, which needs a prompt nobody can answer here.
for _ in $(seq 1 200); do
  alias=$(dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
    org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null | awk '/object path/ {print $3}')
  [ -n "$alias" ] && [ "$alias" != '"/"' ] && break
  sleep 0.05
done
if [ -z "${alias:-}" ] || [ "$alias" = '"/"' ]; then
  echo "with-keyring: the keyring has no default collection" >&2
  exit 1
fi

if [ -n "$CA_OUTER_XDG_DATA_HOME" ]; then export XDG_DATA_HOME="$CA_OUTER_XDG_DATA_HOME"; else unset XDG_DATA_HOME; fi
unset CA_OUTER_XDG_DATA_HOME
export CA_TEST_KEYRING=1
set +e
"$@"
status=$?
set -e
# gnome-keyring-daemon itself sometimes aborts under a burst of concurrent sessions (an upstream
# race, GNOME/gnome-keyring#196: "assertion 'client' failed"); every test after it then fails
# with "no Secret Service". Say so plainly, with its own status, so the caller can tell that
# from a failing test.
if [ "$status" -ne 0 ] && ! kill -0 "$daemon" 2>/dev/null; then
  died=0; wait "$daemon" 2>/dev/null || died=$?
  echo "with-keyring: gnome-keyring-daemon died during the run (status $died); the failures after it are the keyring's" >&2
  exit 75
fi
exit $status
