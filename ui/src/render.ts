/**
 * Pure view builders for accounts: a row with its status, expiry, scopes and last reader.
 * They hold no state; the accounts view decides when to call them.
 */
import type { Account, AccountStatus, LastRead } from "./bindings";
import { h } from "./dom";
import { scopeDescription, scopeView, type ScopeDescriptions } from "./scopes";
import { absoluteTime, relativeExpiry, relativePast } from "./time";

export type RowAction = "test" | "request" | "refresh" | "disconnect" | "policy";

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

export type ScopeBlockOptions = {
  /** What each scope lets the app do (from the account's provider), where known. */
  scopeDescriptions: ScopeDescriptions;
  /** "What this account can do" is unfolded (kept across re-renders). */
  scopeDetailsOpen: boolean;
  onScopeDetails: (open: boolean) => void;
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
    request: [`${programName(c.exe) ?? "a program"} (request)`, c.parent_exe],
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

export function scopesBlock(account: Account, opts: ScopeBlockOptions): HTMLElement {
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

export function lastReadElement(read: LastRead, now: number): HTMLElement {
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
  for (const row of list.querySelectorAll<HTMLElement>('[data-testid="account-page"]')) {
    const read = reads.get(row.dataset.accountId ?? "");
    const shown = row.querySelector<HTMLElement>('[data-testid="account-last-read"]');
    if (!read) {
      shown?.remove();
      continue;
    }
    const fresh = lastReadElement(read, now);
    if (!shown) {
      row.querySelector('[data-testid="account-used-by"]')?.replaceChildren(fresh);
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
  for (const row of list.querySelectorAll<HTMLElement>("[data-account-id]")) {
    const account = byId.get(row.dataset.accountId ?? "");
    const shown = row.querySelector<HTMLElement>('[data-testid="account-expiry"]');
    if (!account || !shown) continue;
    const fresh = expiryElement(account, now);
    if (shown.textContent !== fresh.textContent || shown.title !== fresh.title) shown.replaceWith(fresh);
  }
}

export function expiryElement(account: Account, now: number): HTMLElement {
  const text = relativeExpiry(account.expires_at, now);
  let title = "The server gave no expiry time for this access token";
  if (account.expires_at) {
    const past = Date.parse(account.expires_at) < now;
    title = `${past ? "Expired" : "Expires"} ${absoluteTime(account.expires_at)}`;
  }
  return h("span", { class: "expiry", "data-testid": "account-expiry", title }, text);
}

export function statusBadge(status: AccountStatus): HTMLElement {
  return h("span", { class: `badge ${STATUS_TONE[status] ?? "badge--muted"}`, "data-testid": "account-status" }, statusText(status));
}

/** ", " for screen readers only: the parts of a list line are read as a phrase, not run together. */
function pause(): HTMLElement {
  return h("span", { class: "sr-only" }, ", ");
}

export type AccountItemOptions = {
  now: number;
  busy: RowAction | undefined;
  highlight: boolean;
  /** The provider's logo, or its lettermark. */
  logo: Element;
  onOpen: () => void;
};

/** One line of the accounts list: logo, name, provider, status and expiry; it opens the account. */
export function accountItem(account: Account, opts: AccountItemOptions): HTMLElement {
  const status = shownStatus(account, opts.busy);
  const name = accountLabel(account);
  const open = h(
    "button",
    // Its name is its visible text (name, e-mail and provider, status, expiry), as axe wants.
    { type: "button", class: "account-open", "data-testid": "account-open" },
    opts.logo,
    h(
      "span",
      { class: "account-who" },
      h("span", { class: "account-name", "data-testid": "account-name" }, name),
      pause(),
      h(
        "span",
        { class: "account-sub" },
        account.email && account.email !== name ? `${account.email} · ${account.provider_name}` : account.provider_name,
      ),
    ),
    pause(),
    statusBadge(status),
    pause(),
    expiryElement(account, opts.now),
  );
  open.addEventListener("click", opts.onOpen);
  return h(
    "li",
    {
      class: opts.highlight ? "account-item is-new" : "account-item",
      "data-testid": "account-item",
      "data-account-id": account.id,
      "data-status": status,
      "data-expires-at": account.expires_at ?? "",
      "data-highlight": opts.highlight ? "true" : null,
      "aria-busy": opts.busy !== undefined ? "true" : null,
    },
    open,
  );
}
