/**
 * Pure view builders: turn accounts, providers, flows, probe results and audit
 * events into DOM. They hold no state; the app module decides when to call them.
 */
import type {
  Account,
  AccountStatus,
  AuditEvent,
  ConnectStarted,
  DeviceStarted,
  JsonValue,
  LastRead,
  ProbeResult,
  RedirectKind,
} from "./bindings";
import { copyRow } from "./copy";
import { button, h } from "./dom";
import { scopeDescription, scopeView, type ScopeDescriptions } from "./scopes";
import { absoluteTime, countdown, relativeExpiry, relativePast } from "./time";

export type RowAction = "test" | "refresh" | "disconnect";

const STATUS_TEXT: Record<AccountStatus, string> = {
  connected: "connected",
  expiring: "expiring soon",
  offline: "offline",
  needs_reconnect: "needs reconnect",
  error: "error",
  connecting: "connecting…",
  refreshing: "refreshing…",
  disconnecting: "disconnecting…",
};

const STATUS_TONE: Record<AccountStatus, string> = {
  connected: "badge--ok",
  expiring: "badge--warn",
  offline: "badge--muted",
  needs_reconnect: "badge--bad",
  error: "badge--bad",
  connecting: "badge--busy",
  refreshing: "badge--busy",
  disconnecting: "badge--busy",
};

export function statusText(status: AccountStatus): string {
  return STATUS_TEXT[status] ?? String(status);
}

/** The status to show: a running local action wins over the stored one. */
export function shownStatus(account: Account, busy: RowAction | undefined): AccountStatus {
  if (busy === "refresh") return "refreshing";
  if (busy === "disconnect") return "disconnecting";
  return account.status;
}

export function accountLabel(account: Account): string {
  return account.display_name || account.email || account.subject || account.id;
}

export type AccountRowOptions = {
  now: number;
  busy: RowAction | undefined;
  highlight: boolean;
  /** A connect flow is running, so "Connect again" must wait. */
  flowActive: boolean;
  /** What each scope lets the app do (from the account's provider), where known. */
  scopeDescriptions: ScopeDescriptions;
  /** "What this account can do" is unfolded (kept across re-renders). */
  scopeDetailsOpen: boolean;
  onScopeDetails: (open: boolean) => void;
  onTest: () => void;
  onRefresh: () => void;
  onDisconnect: () => void;
  onReconnect: () => void;
  /** Its latest token read by a local program, if any. */
  lastRead?: LastRead;
};

/** The last path segment: `/usr/bin/bash` → `bash`. */
function programName(path: string | null): string | null {
  if (!path) return null;
  return path.split("/").filter(Boolean).pop() ?? path;
}

/**
 * "Used by git, 3 min ago · by bash in ~/work/acme": what used the account's token last, and
 * who ran it. git and `token` are read by the program itself, so "by" is its parent; `exec` is
 * run from a shell, which is the reader.
 */
export function lastReadText(read: LastRead, now: number): string {
  const c = read.consumer;
  const doors: Record<LastRead["consumer"]["kind"], [string, string | null]> = {
    git_credential: ["git", c.parent_exe ?? c.exe],
    exec: [read.detail, c.exe],
    token: [`${programName(c.exe) ?? "a program"} (token)`, c.parent_exe],
    test: ["the test call", c.exe],
  };
  const [door, by] = doors[c.kind] ?? [c.kind, c.exe];
  let text = `Used by ${door}, ${relativePast(read.at, now)}`;
  const byName = programName(by);
  if (byName) text += ` · by ${byName}`;
  if (c.cwd) text += ` in ${c.cwd.replace(/^\/home\/[^/]+(?=\/|$)|^\/root(?=\/|$)/, "~")}`;
  return text;
}

function chipTitle(kind: "granted" | "missing", description: string | null): string | null {
  if (kind === "granted") return description;
  return description ? `requested but not granted: ${description}` : "requested but not granted";
}

function chipList(scopes: string[], kind: "granted" | "missing", label: string, descriptions: ScopeDescriptions): HTMLElement {
  const list = h("ul", { class: `chips chips--${kind}`, "aria-label": label });
  for (const scope of scopes) {
    list.appendChild(
      h(
        "li",
        {
          class: kind === "granted" ? "chip" : "chip chip--missing",
          "data-testid": `scope-${kind}`,
          title: chipTitle(kind, scopeDescription(descriptions, scope)),
        },
        scope,
      ),
    );
  }
  return list;
}

/** "What this account can do": the granted scopes the provider describes, folded away by default. */
function scopeDescriptionList(
  granted: string[],
  descriptions: ScopeDescriptions,
  open: boolean,
  onToggle: (open: boolean) => void,
): HTMLElement | null {
  const described = granted.flatMap((scope) => {
    const text = scopeDescription(descriptions, scope);
    return text ? [{ scope, text }] : [];
  });
  if (described.length === 0) return null;
  const details = h(
    "details",
    { class: "scope-details", "data-testid": "scope-details", open },
    h("summary", { class: "small" }, "What this account can do"),
    h(
      "ul",
      { class: "scope-descriptions" },
      ...described.map(({ scope, text }) =>
        h(
          "li",
          { "data-testid": "scope-description", "data-scope": scope },
          h("span", { class: "scope-text" }, text),
          h("code", { class: "scope-name" }, scope),
        ),
      ),
    ),
  );
  details.addEventListener("toggle", () => onToggle(details.open));
  return details;
}

function scopesBlock(account: Account, opts: AccountRowOptions): HTMLElement {
  const descriptions = opts.scopeDescriptions;
  const view = scopeView(account);
  const block = h("div", { class: "scopes" });
  if (view.granted.length === 0 && view.missing.length === 0) {
    block.appendChild(h("p", { class: "muted small" }, "No scopes reported."));
    return block;
  }
  if (view.granted.length > 0) {
    block.appendChild(
      chipList(view.granted, "granted", view.assumed ? "Requested scopes" : "Granted scopes", descriptions),
    );
  }
  if (view.missing.length > 0) {
    block.appendChild(chipList(view.missing, "missing", "Requested but not granted", descriptions));
  }
  if (view.assumed) {
    block.appendChild(
      h(
        "p",
        { class: "note small", "data-testid": "scopes-note" },
        "server did not report granted scopes; showing the requested ones",
      ),
    );
  }
  const details = scopeDescriptionList(view.granted, descriptions, opts.scopeDetailsOpen, opts.onScopeDetails);
  if (details) block.appendChild(details);
  return block;
}

function lastReadElement(read: LastRead, now: number): HTMLElement {
  const title = [
    read.consumer.exe && `Program: ${read.consumer.exe}`,
    read.consumer.parent_exe && `Started by: ${read.consumer.parent_exe}`,
    read.consumer.tty && `Terminal: ${read.consumer.tty}`,
    read.count > 1 ? `${read.count} reads in a row` : null,
    absoluteTime(read.at),
  ]
    .filter(Boolean)
    .join("\n");
  return h("p", { class: "note small", "data-testid": "account-last-read", title }, lastReadText(read, now));
}

/**
 * Brings each row's "Used by …" line up to date in place: the rows (and whatever holds them)
 * stay the same elements, so a background reload of the activity never rebuilds the list.
 */
export function refreshLastReads(list: ParentNode, reads: Map<string, LastRead>, now: number): void {
  for (const row of list.querySelectorAll<HTMLElement>('[data-testid="account-row"]')) {
    const read = reads.get(row.dataset.accountId ?? "");
    const shown = row.querySelector<HTMLElement>('[data-testid="account-last-read"]');
    if (!read) {
      shown?.remove();
      continue;
    }
    const fresh = lastReadElement(read, now);
    if (!shown) {
      row.insertBefore(fresh, row.querySelector('[data-testid="account-error"], [data-testid="reconnect-hint"]'));
    } else if (shown.textContent !== fresh.textContent || shown.title !== fresh.title) {
      shown.replaceWith(fresh);
    }
  }
}

/**
 * Brings the "expires in …" texts of rendered rows up to `now`, touching nothing else: the
 * once-a-minute tick of an idle window must not rebuild the list.
 */
export function refreshExpiries(list: ParentNode, accounts: Account[], now: number): void {
  const byId = new Map(accounts.map((a) => [a.id, a]));
  for (const row of list.querySelectorAll<HTMLElement>('[data-testid="account-row"]')) {
    const account = byId.get(row.dataset.accountId ?? "");
    const shown = row.querySelector<HTMLElement>('[data-testid="account-expiry"]');
    if (!account || !shown) continue;
    const fresh = expiryElement(account, now);
    if (shown.textContent !== fresh.textContent || shown.title !== fresh.title) shown.replaceWith(fresh);
  }
}

function expiryElement(account: Account, now: number): HTMLElement {
  const text = relativeExpiry(account.expires_at, now);
  let title = "The server gave no expiry time for this access token";
  if (account.expires_at) {
    const past = Date.parse(account.expires_at) < now;
    title = `${past ? "Expired" : "Expires"} ${absoluteTime(account.expires_at)}`;
  }
  return h("span", { class: "expiry", "data-testid": "account-expiry", title }, text);
}

export function accountRow(account: Account, opts: AccountRowOptions): HTMLElement {
  const status = shownStatus(account, opts.busy);
  const name = accountLabel(account);
  const busy = opts.busy !== undefined;
  const row = h("li", {
    class: opts.highlight ? "account is-new" : "account",
    "data-testid": "account-row",
    "data-account-id": account.id,
    "data-status": status,
    "data-expires-at": account.expires_at ?? "",
    "data-busy": opts.busy ?? null,
    "data-highlight": opts.highlight ? "true" : null,
    "aria-busy": busy ? "true" : null,
  });

  const who = h(
    "div",
    { class: "account-who" },
    h("span", { class: "account-name", "data-testid": "account-name" }, name),
    account.email && account.email !== name
      ? h("span", { class: "account-email", "data-testid": "account-email" }, account.email)
      : null,
    h("span", { class: "account-provider", "data-testid": "account-provider" }, account.provider_name),
  );
  const state = h(
    "div",
    { class: "account-state" },
    h("span", { class: `badge ${STATUS_TONE[status] ?? "badge--muted"}`, "data-testid": "account-status" }, statusText(status)),
    expiryElement(account, opts.now),
  );

  const actions = h(
    "div",
    { class: "actions" },
    button("Test", { class: "btn", "data-testid": "test", disabled: busy, "aria-label": `Test ${name}` }, opts.onTest),
    button(
      "Refresh",
      { class: "btn", "data-testid": "refresh", disabled: busy, "aria-label": `Refresh ${name}` },
      opts.onRefresh,
    ),
    button(
      "Disconnect",
      { class: "btn btn--quiet-danger", "data-testid": "disconnect", disabled: busy, "aria-label": `Disconnect ${name}` },
      opts.onDisconnect,
    ),
  );

  row.append(h("div", { class: "account-head" }, who, state, actions), scopesBlock(account, opts));

  if (opts.lastRead) row.appendChild(lastReadElement(opts.lastRead, opts.now));
  if (account.last_error) {
    row.appendChild(h("p", { class: "row-error", "data-testid": "account-error" }, account.last_error));
  }
  if (account.status === "needs_reconnect") {
    row.appendChild(
      h(
        "div",
        { class: "reconnect", "data-testid": "reconnect-hint" },
        h(
          "p",
          {},
          `This sign-in is no longer valid. Connect ${account.provider_name} again to use this account.`,
        ),
        button(
          "Connect again",
          { class: "btn btn--primary", "data-testid": "reconnect", disabled: busy || opts.flowActive },
          opts.onReconnect,
        ),
      ),
    );
  }
  return row;
}

export type FlowPanelOptions = {
  started: ConnectStarted;
  /** How the browser hands the sign-in back: a loopback port, or the app's own scheme. */
  redirect: RedirectKind;
  providerName: string;
  remainingMs: number;
  cancelling: boolean;
  onCancel: () => void;
};

export function flowPanel(opts: FlowPanelOptions): HTMLElement {
  const url = h("input", {
    type: "text",
    readonly: true,
    class: "copy-field",
    "data-testid": "flow-authorize-url",
    value: opts.started.browser_url,
    spellcheck: "false",
    "aria-label": "Sign-in address",
  });
  url.addEventListener("focus", () => url.select());
  return h(
    "section",
    { class: "flow", "data-testid": "flow-waiting", "data-redirect": opts.redirect, "aria-labelledby": "flow-title" },
    h(
      "p",
      { class: "flow-title", id: "flow-title", role: "status" },
      `Waiting for you to finish signing in to ${opts.providerName} in your browser…`,
    ),
    opts.redirect === "custom_scheme"
      ? h(
          "p",
          { class: "small", "data-testid": "flow-app-link" },
          "When you approve, the browser hands the sign-in back to this app through the app’s own address below. If the browser asks whether to open Connected Accounts, allow it.",
        )
      : null,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Redirect URI"),
      h("dd", {}, h("code", { "data-testid": "flow-redirect-uri" }, opts.started.redirect_uri)),
      h("dt", {}, "Time left"),
      h("dd", {}, h("span", { class: "countdown", "data-testid": "flow-countdown" }, countdown(opts.remainingMs))),
    ),
    h(
      "details",
      { class: "flow-help" },
      h("summary", {}, "Browser did not open?"),
      h("p", { class: "small" }, "Copy this address into your browser:"),
      url,
    ),
    h(
      "div",
      { class: "actions" },
      button(
        opts.cancelling ? "Cancelling…" : "Cancel",
        { class: "btn", "data-testid": "cancel-flow", disabled: opts.cancelling },
        opts.onCancel,
      ),
    ),
  );
}

export type DevicePanelOptions = {
  started: DeviceStarted;
  providerName: string;
  remainingMs: number;
  cancelling: boolean;
  onCancel: () => void;
};

/** A device sign-in in progress: where to go, the code to type there, and how long it stays valid. */
export function devicePanel(opts: DevicePanelOptions): HTMLElement {
  const { started } = opts;
  return h(
    "section",
    { class: "flow flow--device", "data-testid": "device-waiting", "aria-labelledby": "device-title" },
    h(
      "p",
      { class: "flow-title", id: "device-title", role: "status" },
      `Waiting for you to sign in to ${opts.providerName} with a code…`,
    ),
    h(
      "p",
      { class: "device-instruction", "data-testid": "device-instruction" },
      "Open ",
      h("strong", { class: "device-uri" }, started.verification_uri),
      " on any device and enter this code:",
    ),
    copyRow(started.user_code, "device-user-code", "the code", "device-code"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Address"),
      h("dd", {}, copyRow(started.verification_uri, "device-verification-uri", "the address")),
      h("dt", {}, "Time left"),
      h("dd", {}, h("span", { class: "countdown", "data-testid": "device-countdown" }, countdown(opts.remainingMs))),
    ),
    h(
      "p",
      { class: "small muted" },
      "The app also opened this page in the browser on this computer; sign in there instead if that is easier.",
    ),
    h(
      "div",
      { class: "actions" },
      button(
        opts.cancelling ? "Cancelling…" : "Cancel",
        { class: "btn", "data-testid": "cancel-device", disabled: opts.cancelling },
        opts.onCancel,
      ),
    ),
  );
}

function prettyBody(body: JsonValue): string {
  if (typeof body === "string") return body;
  try {
    return JSON.stringify(body, null, 2) ?? "null";
  } catch {
    return "(the response body could not be displayed)";
  }
}

export function probeDetails(result: ProbeResult): HTMLElement {
  const ok = result.status >= 200 && result.status < 300;
  const headers = h(
    "table",
    { class: "headers", "data-testid": "test-headers" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Header"), h("th", { scope: "col" }, "Value"))),
    h(
      "tbody",
      {},
      ...result.headers.map(([name, value]) => h("tr", {}, h("td", {}, name), h("td", {}, value))),
    ),
  );
  return h(
    "div",
    { class: "probe", "data-testid": "test-result" },
    h(
      "p",
      { class: "request-line" },
      h("code", { "data-testid": "test-request" }, `${result.method} ${result.url}`),
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Status"),
      h(
        "dd",
        {},
        h("span", { class: ok ? "badge badge--ok" : "badge badge--bad", "data-testid": "test-status" }, String(result.status)),
      ),
      h("dt", {}, "Latency"),
      h("dd", {}, h("span", { "data-testid": "test-latency" }, `${Math.round(result.latency_ms)} ms`)),
    ),
    h("h3", { class: "small-heading" }, "Response headers"),
    result.headers.length > 0 ? headers : h("p", { class: "muted small" }, "No headers."),
    h("h3", { class: "small-heading" }, "Response body"),
    result.truncated
      ? h(
          "p",
          { class: "muted small", "data-testid": "test-truncated" },
          "The response was larger than 1 MiB: only its start was read, and is shown here.",
        )
      : null,
    h("pre", { class: "body", "data-testid": "test-body", tabindex: "0" }, prettyBody(result.body)),
  );
}

export function auditList(events: AuditEvent[]): HTMLElement {
  if (events.length === 0) {
    return h(
      "p",
      { class: "empty", "data-testid": "audit-empty" },
      "Nothing yet. Connecting, testing, refreshing and disconnecting accounts is recorded here.",
    );
  }
  return h(
    "ol",
    { class: "audit", "data-testid": "audit-list" },
    ...events.map((e) =>
      h(
        "li",
        { class: "audit-entry", "data-testid": "audit-entry", "data-kind": e.kind },
        h("time", { datetime: e.at, class: "audit-time" }, absoluteTime(e.at)),
        h("span", { class: "audit-kind" }, e.kind),
        h("span", { class: "audit-detail" }, e.detail),
      ),
    ),
  );
}
