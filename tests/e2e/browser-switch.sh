#!/usr/bin/env bash
# $BROWSER for the end-to-end tests: the scripted browser, in the mode written to $CA_E2E_MODE_FILE
# (approve / deny / ignore), so one running window can be driven through each outcome.
mode=$(cat "${CA_E2E_MODE_FILE:?}" 2>/dev/null || echo approve)
CA_TEST_CONSENT="$mode" exec python3 "$(dirname "$0")/../idp/browser.py" "$@"
