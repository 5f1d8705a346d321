/**
 * The Accounts view: a compact list (logo, name, provider, status, expiry) found by search and
 * by filters on provider and status. Up and Down move through it, Enter opens an account.
 * Rows are rebuilt from the store; focus stays on the same row across rebuilds.
 */
import type { Account, AccountStatus } from "../bindings";
import { button, h, replaceChildren } from "../dom";
import { providerLogo } from "../logos";
import { accountItem, accountLabel, refreshExpiries, statusText, type RowAction } from "../render";
import type { Store } from "../store";

/** Accounts shown at first, and added by each "Show more". */
export const ACCOUNTS_PAGE = 100;
const HIGHLIGHT_MS = 4000;

export type AccountActions = {
  onOpen(id: string): void;
  /** "Set up a provider" from the empty state. */
  onSetUp(): void;
  /** "Try it with the demo server": a sign-in at the demo's provider. */
  onTryDemo(providerId: string): void;
};

const STATUS_FILTERS: AccountStatus[] = ["connected", "expiring", "needs_reconnect", "offline", "error"];

export class AccountsView {
  readonly element: HTMLElement;
  readonly search: HTMLInputElement;
  private readonly list = h("div", { class: "list-slot", "data-testid": "accounts" });
  private readonly providerFilter: HTMLSelectElement;
  private readonly statusFilter: HTMLSelectElement;
  private readonly toolbar: HTMLElement;
  private shown = ACCOUNTS_PAGE;
  private highlight: string | null = null;
  private highlightTimer: number | null = null;
  /** The account whose row had focus before a rebuild. */
  private focusKey: string | null = null;
  private renderTimer: number | null = null;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    /** Running local actions, by account (shared with the account page). */
    private readonly busy: Map<string, RowAction>,
    private readonly actions: AccountActions,
  ) {
    this.search = h("input", {
      type: "search",
      class: "search",
      placeholder: "Search accounts",
      "aria-label": "Search accounts",
      "data-testid": "account-search",
      spellcheck: "false",
      autocomplete: "off",
    });
    this.providerFilter = h("select", { "aria-label": "Show accounts of provider", "data-testid": "account-filter-provider" });
    this.statusFilter = h(
      "select",
      { "aria-label": "Show accounts with status", "data-testid": "account-filter-status" },
      h("option", { value: "" }, "Any status"),
      ...STATUS_FILTERS.map((s) => h("option", { value: s }, statusText(s))),
    );
    for (const control of [this.search, this.providerFilter, this.statusFilter]) {
      control.addEventListener("input", () => {
        this.shown = ACCOUNTS_PAGE;
        this.render();
      });
    }
    this.toolbar = h("div", { class: "toolbar", "data-testid": "account-toolbar" }, this.search, this.providerFilter, this.statusFilter);
    this.element = h(
      "section",
      { class: "view", "data-view": "accounts", "aria-labelledby": "accounts-title" },
      h("div", { class: "section-head" }, h("h2", { class: "section-title", id: "accounts-title" }, "Accounts")),
      this.toolbar,
      this.list,
    );
    this.list.appendChild(h("p", { class: "empty" }, "Loading accounts…"));
    this.list.addEventListener("keydown", (ev) => this.arrows(ev));
  }

  /** Up and Down move between rows, Home and End to the first and last. */
  private arrows(ev: KeyboardEvent): void {
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(ev.key)) return;
    const rows = [...this.list.querySelectorAll<HTMLElement>('[data-testid="account-open"]')];
    const at = rows.findIndex((r) => r === document.activeElement);
    if (at < 0) return;
    ev.preventDefault();
    const next = { ArrowDown: Math.min(at + 1, rows.length - 1), ArrowUp: Math.max(at - 1, 0), Home: 0, End: rows.length - 1 }[ev.key] ?? at;
    rows[next]?.focus();
  }

  /** The rows currently passing search and filters. */
  private matching(): Account[] {
    const text = this.search.value.trim().toLowerCase();
    const provider = this.providerFilter.value;
    const status = this.statusFilter.value;
    return this.store.accounts.filter(
      (a) =>
        (provider === "" || a.provider === provider) &&
        (status === "" || a.status === status) &&
        (text === "" ||
          [accountLabel(a), a.email ?? "", a.provider_name].some((field) => field.toLowerCase().includes(text))),
    );
  }

  /** What the app does, in two lines, and the next step: the demo's server, or setting up. */
  private emptyState(): HTMLElement {
    const demo = this.store.demoProvider();
    const ready = this.store.providers.some((p) => p.configured);
    const next = demo
      ? "No account yet: this is the demo, with a local server where any name and password sign in."
      : ready
        ? "No account yet: connect one with a provider that is set up."
        : "No account yet: set up a provider once, then connect as many accounts as you like.";
    const setUp = button(
      ready ? "Connect an account" : "Set up a provider",
      { class: demo ? "btn" : "btn btn--primary", "data-testid": "empty-set-up" },
      () => this.actions.onSetUp(),
    );
    return h(
      "div",
      { class: "empty-state", "data-testid": "accounts-empty" },
      h(
        "p",
        { "data-testid": "empty-what" },
        "Connected Accounts keeps your sign-ins to GitHub, Google, Microsoft and any OpenID or OAuth server on this computer, with their tokens in its keychain.",
      ),
      h("p", { class: "muted", "data-testid": "empty-next" }, next),
      h(
        "div",
        { class: "actions actions--start" },
        demo
          ? button("Try it with the demo server", { class: "btn btn--primary", "data-testid": "empty-try-demo" }, () =>
              this.actions.onTryDemo(demo.id),
            )
          : null,
        setUp,
      ),
    );
  }

  /** One option per provider that has accounts, keeping the current choice. */
  private syncProviderFilter(): void {
    const names = new Map<string, string>();
    for (const a of this.store.accounts) names.set(a.provider, a.provider_name);
    const current = this.providerFilter.value;
    replaceChildren(
      this.providerFilter,
      h("option", { value: "" }, "All providers"),
      ...[...names].map(([id, name]) => h("option", { value: id }, name)),
    );
    this.providerFilter.value = names.has(current) ? current : "";
  }

  render(): void {
    if (!this.store.loaded) return;
    const active = document.activeElement;
    if (active && this.list.contains(active)) this.focusKey = rowIdOf(active) ?? this.focusKey;
    const accounts = this.store.accounts;
    this.toolbar.hidden = accounts.length < 2;
    if (accounts.length === 0) {
      replaceChildren(this.list, this.emptyState());
      return;
    }
    this.syncProviderFilter();
    const matching = this.matching();
    const now = this.now();
    const list = h("ul", { class: "accounts", "data-testid": "account-list", "aria-label": "Accounts" });
    // A long list is shown a page at a time (rows are built, not merely hidden): start-up with
    // a thousand accounts paints as fast as with a hundred. A just-connected account always shows.
    const visible = matching.filter((a, i) => i < this.shown || a.id === this.highlight);
    for (const account of visible) {
      const provider = this.store.provider(account.provider);
      list.appendChild(
        accountItem(account, {
          now,
          busy: this.busy.get(account.id),
          highlight: this.highlight === account.id,
          logo: providerLogo(provider ?? { id: account.provider, name: account.provider_name, builtin: false }),
          onOpen: () => this.actions.onOpen(account.id),
        }),
      );
    }
    const hidden = matching.length - visible.length;
    const parts: HTMLElement[] = [list];
    if (matching.length === 0) {
      parts.push(h("p", { class: "empty", "data-testid": "accounts-none-match" }, "No account matches the search."));
    }
    if (hidden > 0) {
      parts.push(
        button(
          `Show ${Math.min(hidden, ACCOUNTS_PAGE)} more (${matching.length} accounts in all)`,
          { class: "btn more", "data-testid": "accounts-more" },
          () => {
            this.shown += ACCOUNTS_PAGE;
            this.render();
          },
        ),
      );
    }
    replaceChildren(this.list, ...parts);
    this.restoreFocus();
  }

  /** Many background changes in a moment (a refresh storm): one rebuild for all of them. */
  renderSoon(): void {
    if (this.renderTimer !== null) return;
    this.renderTimer = window.setTimeout(() => {
      this.renderTimer = null;
      this.render();
    }, 50);
  }

  /** Expiry text is computed locally: updated in place once a minute. */
  tick(): void {
    refreshExpiries(this.list, this.store.accounts, this.now());
  }

  /** A just-connected account: shown even past the first page, marked for a few seconds. */
  flash(id: string): void {
    this.highlight = id;
    this.render();
    this.rowOf(id)?.scrollIntoView?.({ block: "nearest" });
    if (this.highlightTimer !== null) window.clearTimeout(this.highlightTimer);
    this.highlightTimer = window.setTimeout(() => {
      this.highlightTimer = null;
      if (this.highlight === id) {
        this.highlight = null;
        this.render();
      }
    }, HIGHLIGHT_MS);
  }

  private rowOf(id: string): HTMLElement | undefined {
    return [...this.list.querySelectorAll<HTMLElement>("[data-account-id]")].find((r) => r.dataset.accountId === id);
  }

  /** Focus back on the same row after a rebuild, if it was there. */
  private restoreFocus(): void {
    const id = this.focusKey;
    this.focusKey = null;
    if (id === null) return;
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    this.rowOf(id)?.querySelector<HTMLElement>('[data-testid="account-open"]')?.focus();
  }

  /** Focus on an account's row (coming back from its page). */
  focusRow(id: string): void {
    this.rowOf(id)?.querySelector<HTMLElement>('[data-testid="account-open"]')?.focus();
  }

  stop(): void {
    if (this.renderTimer !== null) window.clearTimeout(this.renderTimer);
    if (this.highlightTimer !== null) window.clearTimeout(this.highlightTimer);
    this.renderTimer = null;
    this.highlightTimer = null;
  }
}

function rowIdOf(el: Element): string | undefined {
  return el.closest<HTMLElement>("[data-account-id]")?.dataset.accountId;
}
