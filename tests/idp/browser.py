#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Play the user's browser against the test authorization server (tests/idp/server.mjs).

The app opens its one-time launcher (http://127.0.0.1:PORT/start/…, which answers with a
302 to the authorization URL or the device page) with $BROWSER, so tests set

    BROWSER="python3 tests/idp/browser.py"

and the app runs `python3 tests/idp/browser.py URL` (the URL is taken from the
last argument that looks like an http(s) URL). This script then, with a
cookie-keeping HTTP client and no automatic redirects:

  1. GETs the authorization URL and follows the server's redirects to the
     dev-interaction login page, fills its form (login + password) and posts it,
  2. follows on to the consent page and posts it (or, in `deny` mode, follows the
     page's abort link so the server ends the interaction with access_denied),
  3. stops at the redirect to the request's redirect_uri. An http(s) target (the
     app's loopback listener) is fetched with one GET, the way a browser would;
     a custom-scheme target is printed on stdout instead.

Device authorization (RFC 8628). When the URL's path is the server's device
verification page (`/device`, e.g. the `verification_uri_complete`
`http://127.0.0.1:PORT/device?user_code=ABCD-EFGH`), the script instead:

  1. GETs the page and submits its user-code form (the hidden xsrf field comes
     from the HTML; the code comes from the URL's `user_code`, else from
     CA_TEST_USER_CODE, typed into the plain page's text field),
  2. checks that the confirmation form carries that code (oidc-provider echoes
     the submitted one) and posts it as "Continue" does (xsrf, user_code, confirm=yes),
  3. walks the login and consent interactions exactly as above (in `deny` mode
     the consent page's abort link, so the device grant ends with access_denied),
  4. stops at the server's final page: "Sign-in Success" (approve) or the code
     entry page saying the sign-in was interrupted (deny). Nothing is delivered
     anywhere: the device learns the outcome by polling the token endpoint.

Environment:
  CA_TEST_LOGIN        login typed into the form (default: alice); it becomes `sub`
  CA_TEST_PASSWORD     password typed into the form (default: test; any value works)
  CA_TEST_CONSENT      approve (default) | deny | ignore
                       ignore = do nothing and exit 0 (the user never finishes)
  CA_TEST_USER_CODE    device flow only: the user code to type on a plain `/device`
                       page (ignored when the URL carries `user_code`)
  CA_TEST_BROWSER_LOG  optional file; one line per run is appended with what was done
                       (code, state and user_code REDACTED, HTTP status of the callback;
                       device runs log `mode=device consent=approve|deny|ignore`)
  CA_TEST_PRINT_CALLBACK  1: print the final callback URL instead of following it

Exit status: 0 when the callback was delivered (whatever the app answered) or
printed, or (device flow) the success page resp. the "interrupted" page after a
deny was reached; 0 for `ignore`; 1 on any unexpected step (message on stderr);
2 on bad usage (including a device URL without a user code and no CA_TEST_USER_CODE).
Standard library only.
"""

from __future__ import annotations

import datetime
import html.parser
import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT_S = 10.0
MAX_STEPS = 20
SENSITIVE_PARAMS = {"code", "state", "access_token", "id_token", "refresh_token", "user_code"}


class BrowserError(Exception):
    """An unexpected step: reported on stderr, exit status 1."""


# ---------------------------------------------------------------------------
# HTML: forms and links
# ---------------------------------------------------------------------------


class PageParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[dict] = []
        self.errors: list[str] = []  # <p class="red">: oidc-provider's device page messages
        self.title = ""
        self._form: dict | None = None
        self._link: dict | None = None
        self._error: list[str] | None = None
        self._in_title = False
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {
                "id": a.get("id", ""),
                "action": a.get("action", ""),
                "method": (a.get("method") or "get").lower(),
                "inputs": [],
            }
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None:
            self._form["inputs"].append(
                {
                    "name": a.get("name", ""),
                    "type": (a.get("type") or "text").lower(),
                    "value": a.get("value", ""),
                }
            )
        elif tag == "a" and "href" in a:
            self._link = {"href": a["href"], "text": ""}
            self.links.append(self._link)
        elif tag == "p" and "red" in a.get("class", "").split():
            self._error = []
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "a":
            self._link = None
        elif tag == "p" and self._error is not None:
            self.errors.append(" ".join("".join(self._error).split()))
            self._error = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._link is not None:
            self._link["text"] += data
        if self._error is not None:
            self._error.append(data)
        if self._in_title:
            self.title += data
        self._text.append(data)

    def text(self) -> str:
        return " ".join(" ".join(self._text).split())


def parse_page(body: str) -> PageParser:
    parser = PageParser()
    parser.feed(body)
    parser.close()
    return parser


# ---------------------------------------------------------------------------
# HTTP: cookies kept, redirects NOT followed, 4xx/5xx returned as responses
# ---------------------------------------------------------------------------


class KeepEveryResponse(urllib.request.HTTPErrorProcessor):
    def http_response(self, request, response):
        return response

    https_response = http_response


def make_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),  # never send loopback traffic to a proxy
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        KeepEveryResponse(),
    )


def fetch(opener, method: str, url: str, fields: list[tuple[str, str]] | None = None):
    data = None
    headers = {"Accept": "text/html,application/xhtml+xml", "User-Agent": "ca-test-browser/1"}
    if fields is not None:
        data = urllib.parse.urlencode(fields).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            body = response.read()
            charset = response.headers.get_content_charset() or "utf-8"
            return response.status, response.headers, body.decode(charset, "replace")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BrowserError(f"{method} {redact(url)} failed: {reason}") from None


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)

    def scrub(qs: str) -> str:
        if not qs:
            return qs
        pairs = urllib.parse.parse_qsl(qs, keep_blank_values=True)
        return urllib.parse.urlencode(
            [(k, "REDACTED" if k in SENSITIVE_PARAMS else v) for k, v in pairs]
        )

    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path, scrub(parts.query), scrub(parts.fragment))
    )


def origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def same_endpoint(url: str, redirect_uri: str) -> bool:
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(redirect_uri)
    return (a.scheme.lower(), a.netloc.lower(), a.path) == (b.scheme.lower(), b.netloc.lower(), b.path)


def page_summary(body: str) -> str:
    text = parse_page(body).text() if body else ""
    return (text[:300] + "…") if len(text) > 300 else text


def hidden_prompt(form: dict) -> str | None:
    for field in form["inputs"]:
        if field["name"] == "prompt" and field["type"] == "hidden":
            return field["value"]
    return None


def fill_form(form: dict, login: str, password: str) -> list[tuple[str, str]]:
    fields = []
    for field in form["inputs"]:
        name, kind = field["name"], field["type"]
        if not name or kind in ("submit", "button", "image", "reset", "file"):
            continue
        if kind in ("checkbox", "radio"):
            continue  # none on the dev forms; leave unchecked like a user who ignores them
        if kind == "password":
            fields.append((name, password))
        elif kind in ("text", "email") and name in ("login", "username", "email"):
            fields.append((name, login))
        else:
            fields.append((name, field["value"]))
    return fields


def find_abort_link(page: PageParser, base: str) -> str | None:
    for link in page.links:
        href = urllib.parse.urljoin(base, link["href"])
        if urllib.parse.urlsplit(href).path.rstrip("/").endswith("/abort"):
            return href
    for link in page.links:
        if link["text"].strip().strip("[]").strip().lower() in ("cancel", "deny", "abort"):
            return urllib.parse.urljoin(base, link["href"])
    return None


def append_log(path: str | None, line: str) -> None:
    if not path:
        return
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{stamp} {line}\n")
    except OSError as exc:
        print(f"browser.py: cannot write log {path}: {exc}", file=sys.stderr)


# ---------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------


def run(auth_url: str, mode: str, login: str, password: str) -> str:
    """Drive the flow; return a one-line description of the outcome for the log."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth_url).query))
    # A pushed request (RFC 9126) leaves only client_id and request_uri in the URL: the
    # callback is then the first redirect off the server that carries a sign-in response.
    redirect_uri = query.get("redirect_uri")
    if not redirect_uri and "request_uri" not in query:
        raise BrowserError("the authorization URL carries no redirect_uri parameter")
    server_origin = origin(auth_url)

    def is_callback(target: str) -> bool:
        if redirect_uri:
            return same_endpoint(target, redirect_uri)
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))
        return origin(target) != server_origin and ("code" in params or "error" in params)

    opener = make_opener()

    method, url, fields = "GET", auth_url, None
    saw_consent = False
    trail: list[str] = []

    for _ in range(MAX_STEPS):
        status, headers, body = fetch(opener, method, url, fields)
        trail.append(f"{method} {urllib.parse.urlsplit(url).path} -> {status}")

        if 300 <= status < 400:
            location = headers.get("Location")
            if not location:
                raise BrowserError(f"{status} from {redact(url)} without a Location header")
            target = urllib.parse.urljoin(url, location)
            if is_callback(target):
                return deliver(opener, target, mode, saw_consent)
            if origin(target) != server_origin:
                raise BrowserError(f"unexpected redirect away from the server: {redact(target)}")
            method, url, fields = "GET", target, None
            continue

        if status != 200:
            raise BrowserError(
                f"{method} {redact(url)} answered HTTP {status}: {page_summary(body)}"
            )

        page = parse_page(body)
        # response_mode=form_post: a self-posting form aimed at the redirect_uri.
        for form in page.forms:
            action = urllib.parse.urljoin(url, form["action"])
            if is_callback(action):
                raise BrowserError("response_mode=form_post is not supported by this test browser")

        forms = [f for f in page.forms if hidden_prompt(f) is not None]
        if not forms:
            raise BrowserError(
                f"no interaction form on {redact(url)} (HTTP 200): {page_summary(body)}"
            )
        method, url, fields, consent = interaction_step(
            page, forms[0], url, server_origin, mode, login, password
        )
        saw_consent = saw_consent or consent

    raise BrowserError(f"gave up after {MAX_STEPS} steps: {'; '.join(trail)}")


def interaction_step(page: PageParser, form: dict, url: str, server_origin, mode: str,
                     login: str, password: str):
    """Answer a dev-interaction page (hidden `prompt` = login | consent).

    Returns (method, url, fields, is_consent) for the next request."""
    prompt = hidden_prompt(form)
    action = urllib.parse.urljoin(url, form["action"] or url)
    if origin(action) != server_origin:
        raise BrowserError(f"form posts off the server: {redact(action)}")

    if prompt == "login":
        method, url, fields = form["method"].upper(), action, fill_form(form, login, password)
    elif prompt == "consent":
        if mode == "deny":
            abort = find_abort_link(page, url)
            if not abort:
                raise BrowserError("deny requested but the consent page has no abort link")
            return "GET", abort, None, True
        method, url, fields = form["method"].upper(), action, fill_form(form, login, password)
    else:
        raise BrowserError(f"unknown interaction prompt {prompt!r} on {redact(url)}")
    if method == "GET" and fields:
        sep = "&" if urllib.parse.urlsplit(url).query else "?"
        url, fields = url + sep + urllib.parse.urlencode(fields), None
    return method, url, fields, prompt == "consent"


# ---------------------------------------------------------------------------
# The device walk (RFC 8628 verification page, oidc-provider's `/device`)
# ---------------------------------------------------------------------------


def is_device_url(url: str) -> bool:
    """The server's device verification page (`verification_uri[_complete]`)?"""
    return urllib.parse.urlsplit(url).path.rstrip("/").endswith("/device")


def device_user_code(url: str) -> str | None:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    return (query.get("user_code") or os.environ.get("CA_TEST_USER_CODE") or "").strip() or None


def normalize_user_code(code: str) -> str:
    # Same rule as oidc-provider: case-insensitive, punctuation and spaces ignored.
    return re.sub(r"\W", "", code.upper(), flags=re.ASCII)


def field_names(form: dict) -> set[str]:
    return {f["name"] for f in form["inputs"] if f["name"]}


def form_fields(form: dict, overrides: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The successful controls of a form as a browser submits them (no submit button named)."""
    overrides = overrides or {}
    fields = []
    for field in form["inputs"]:
        name, kind = field["name"], field["type"]
        if not name or kind in ("submit", "button", "image", "reset", "file", "checkbox", "radio"):
            continue
        fields.append((name, overrides.get(name, field["value"])))
    return fields


def run_device(start_url: str, mode: str, login: str, password: str, user_code: str) -> str:
    """Confirm a device's user code, log in and consent (or deny); stop at the final page."""
    server_origin = origin(start_url)
    opener = make_opener()
    wanted = normalize_user_code(user_code)

    method, url, fields = "GET", start_url, None
    code_submitted = confirmed = saw_consent = aborted = False
    trail: list[str] = []

    for _ in range(MAX_STEPS):
        status, headers, body = fetch(opener, method, url, fields)
        trail.append(f"{method} {urllib.parse.urlsplit(url).path} -> {status}")

        if 300 <= status < 400:
            location = headers.get("Location")
            if not location:
                raise BrowserError(f"{status} from {redact(url)} without a Location header")
            target = urllib.parse.urljoin(url, location)
            if origin(target) != server_origin:
                raise BrowserError(f"unexpected redirect away from the server: {redact(target)}")
            method, url, fields = "GET", target, None
            continue

        page = parse_page(body)
        if status != 200:
            detail = "; ".join(page.errors) or page_summary(body)
            raise BrowserError(f"{method} {redact(url)} answered HTTP {status}: {detail}")

        # 1. Login / consent (the same dev interactions as the code flow).
        forms = [f for f in page.forms if hidden_prompt(f) is not None]
        if forms:
            if not confirmed:
                raise BrowserError(f"interaction page before the user code was confirmed: {redact(url)}")
            method, url, fields, consent = interaction_step(
                page, forms[0], url, server_origin, mode, login, password
            )
            saw_consent = saw_consent or consent
            aborted = aborted or (consent and mode == "deny")
            continue

        code_forms = [f for f in page.forms if "user_code" in field_names(f) and "xsrf" in field_names(f)]

        # 2. Code entry page carrying a message: a refused code, an expired one, or
        #    (after our abort) "The Sign-in request was interrupted".
        if page.errors:
            message = "; ".join(page.errors)
            if aborted and re.search(r"interrupt|abort", message, re.IGNORECASE):
                return f"result=denied page={message!r} steps={len(trail)}"
            raise BrowserError(f"the device page says: {message} ({redact(url)}, after {'; '.join(trail)})")

        if code_forms:
            form = code_forms[0]
            action = urllib.parse.urljoin(url, form["action"] or url)
            if origin(action) != server_origin:
                raise BrowserError(f"form posts off the server: {redact(action)}")
            if form["method"] != "post":
                raise BrowserError(f"the user code form on {redact(url)} is not a POST form")
            values = {f["name"]: f["value"] for f in form["inputs"] if f["name"]}

            if "confirm" in values:
                # 3. "Confirm Device": a person compares the code shown with the device's
                #    (the page only echoes what was submitted, so this guards the walk).
                if confirmed:
                    raise BrowserError("the server asked to confirm the user code twice")
                if normalize_user_code(values["user_code"]) != wanted:
                    raise BrowserError("the confirmation page shows a different user code")
                confirmed = True
                method, url, fields = "POST", action, form_fields(form)
                continue

            # 4. Code entry: the auto-submitting page behind verification_uri_complete
            #    (user_code already filled in, hidden) or the plain page (text field).
            if code_submitted:
                raise BrowserError(f"the server asked for the user code again on {redact(url)}")
            code_submitted = True
            method, url, fields = "POST", action, form_fields(form, {"user_code": user_code})
            continue

        # 5. The final page: no form left.
        if not page.forms and confirmed:
            text = page_summary(body)
            if re.search(r"success", f"{page.title} {text}", re.IGNORECASE):
                if mode == "deny":
                    raise BrowserError(
                        "deny requested but the server approved the device without asking for consent"
                        if not saw_consent else "deny requested but the server still reported success"
                    )
                return f"result=success page={page.title.strip()!r} steps={len(trail)}"

        raise BrowserError(f"unexpected page at {redact(url)} (HTTP 200): {page_summary(body)}")

    raise BrowserError(f"gave up after {MAX_STEPS} steps: {'; '.join(trail)}")


def deliver(opener, target: str, mode: str, saw_consent: bool) -> str:
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))
    if mode == "deny" and not saw_consent:
        raise BrowserError(
            "deny requested but the server redirected without asking for consent: "
            + redact(target)
        )
    if mode == "approve" and "code" not in params:
        # Not fatal: deliver it, the app must cope with error callbacks too.
        print(
            f"browser.py: note: callback carries no code (error={params.get('error')!r})",
            file=sys.stderr,
        )

    scheme = urllib.parse.urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        # A real browser hands a custom-scheme URL to the desktop, which starts the registered
        # app with it; CA_TEST_OPEN_SCHEME=gio does that (`gio open`). Otherwise print it.
        if os.environ.get("CA_TEST_OPEN_SCHEME") == "gio":
            done = subprocess.run(["gio", "open", target], capture_output=True, text=True, timeout=20)
            if done.returncode != 0:
                raise BrowserError(f"gio open failed ({done.returncode}): {done.stderr.strip()}")
            return f"result=gio-open url={redact(target)}"
        print(target, flush=True)
        return f"result=printed url={redact(target)}"

    if os.environ.get("CA_TEST_PRINT_CALLBACK") == "1":
        # The mix-up test plays an attacker who takes this callback elsewhere: print, don't follow.
        print(target, flush=True)
        return f"result=printed url={redact(target)}"
    status, _headers, _body = fetch(opener, "GET", target)
    return f"result=callback status={status} url={redact(target)}"


def is_launcher(url: str) -> bool:
    """The app's one-time launcher on its loopback listener (`http://127.0.0.1:PORT/start/…`)."""
    parts = urllib.parse.urlsplit(url)
    return parts.hostname in ("127.0.0.1", "::1") and parts.path.startswith("/start/")


def launch(url: str) -> str:
    """Fetch the launcher the way a browser would and return where its 302 points."""
    status, headers, body = fetch(make_opener(), "GET", url)
    location = headers.get("Location")
    if status != 302 or not location:
        raise BrowserError(f"the launcher answered HTTP {status}: {page_summary(body) or body.strip()}")
    return urllib.parse.urljoin(url, location)


def main(argv: list[str]) -> int:
    urls = [a for a in argv[1:] if a.lower().startswith(("http://", "https://"))]
    if not urls:
        print("usage: browser.py [...] AUTHORIZATION_URL|DEVICE_VERIFICATION_URL", file=sys.stderr)
        return 2
    auth_url = urls[-1]

    mode = (os.environ.get("CA_TEST_CONSENT") or "approve").strip().lower()
    login = os.environ.get("CA_TEST_LOGIN") or "alice"
    password = os.environ.get("CA_TEST_PASSWORD") or "test"
    log_path = os.environ.get("CA_TEST_BROWSER_LOG") or None

    if mode not in ("approve", "deny", "ignore"):
        print(
            f"browser.py: CA_TEST_CONSENT must be approve, deny or ignore, not {mode!r}",
            file=sys.stderr,
        )
        return 2

    if is_launcher(auth_url) and mode != "ignore":
        try:
            auth_url = launch(auth_url)
        except BrowserError as exc:
            append_log(log_path, f"mode={mode} login={login} result=error message={exc}")
            print(f"browser.py: error: {exc}", file=sys.stderr)
            return 1

    if is_device_url(auth_url):
        return main_device(auth_url, mode, login, password, log_path)

    if mode == "ignore":
        append_log(log_path, f"mode=ignore result=ignored url={redact(auth_url)}")
        return 0

    try:
        outcome = run(auth_url, mode, login, password)
    except BrowserError as exc:
        append_log(log_path, f"mode={mode} login={login} result=error message={exc}")
        print(f"browser.py: error: {exc}", file=sys.stderr)
        return 1
    append_log(log_path, f"mode={mode} login={login} {outcome}")
    return 0


def main_device(url: str, mode: str, login: str, password: str, log_path: str | None) -> int:
    head = f"mode=device consent={mode}"
    if mode == "ignore":
        append_log(log_path, f"{head} result=ignored url={redact(url)}")
        return 0
    user_code = device_user_code(url)
    if not user_code:
        message = "device verification URL without user_code and CA_TEST_USER_CODE is not set"
        append_log(log_path, f"{head} login={login} result=error message={message}")
        print(f"browser.py: {message}", file=sys.stderr)
        return 2
    try:
        outcome = run_device(url, mode, login, password, user_code)
    except BrowserError as exc:
        append_log(log_path, f"{head} login={login} result=error message={exc}")
        print(f"browser.py: error: {exc}", file=sys.stderr)
        return 1
    append_log(log_path, f"{head} login={login} {outcome} url={redact(url)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
