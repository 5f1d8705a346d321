/**
 * The Accounts view: every account with its status, expiry, scopes and actions, found by
 * search and by filters on provider and status. Rows are rebuilt from the store; focus stays
 * on the same button of the same row across rebuilds.
 */
import type { Account, AccountStatus } from "../bindings";
import { button, h, replaceChildren } from "../dom";
import { accountRow, accountLabel, refreshExpiries, refreshLastReads, statusText, type RowAction } from "../render";
import type { Store } from "../store";

/** Accounts shown at first, and added by each "Show more". */
export const ACCOUNTS_PAGE = 100;
const HIGHLIGHT_MS = 4000;

export type AccountActions = {
  onTest(id: string): void;
  onRefresh(id: string): void;
  onDisconnect(id: string): void;
  onReconnect(account: Account): void;
  /** "Set up a provider" from the empty state. */
  onSetUp(): void;
};

type FocusKey = { accountId: string; testId: string };

const STATUS_FILTERS: AccountStatus[] = ["connected", "expiring", "needs_reconnect", "offline", "error"];

export class AccountsView {
  readonly element: HTMLElement;
  readonly search: HTMLInputElement;
  /** Running local actions, by account. */
  readonly busy = new Map<string, RowAction>();
  private readonly list = h("div", { class: "list-slot", "data-testid": "accounts" });
  private readonly providerFilter: HTMLSelectElement;
  private readonly statusFilter: HTMLSelectElement;
  private readonly toolbar: HTMLElement;
  private readonly openScopeDetails = new Set<string>();
  private shown = ACCOUNTS_PAGE;
  private highlight: string | null = null;
  private highlightTimer: number | null = null;
  private focusKey: FocusKey | null = null;
  private renderTimer: number | null = null;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly flowActive: () => boolean,
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
    if (active && this.list.contains(active)) this.focusKey = focusKeyOf(active) ?? this.focusKey;
    const accounts = this.store.accounts;
    this.toolbar.hidden = accounts.length < 2;
    if (accounts.length === 0) {
      const ready = this.store.providers.some((p) => p.configured);
      replaceChildren(
        this.list,
        h(
          "div",
          { class: "empty-state", "data-testid": "accounts-empty" },
          h(
            "p",
            {},
            ready
              ? "No accounts yet — connect one from Providers."
              : "No accounts yet — set up a provider, then connect an account with it.",
          ),
          button(ready ? "Go to Providers" : "Set up a provider", { class: "btn btn--primary", "data-testid": "empty-set-up" }, () =>
            this.actions.onSetUp(),
          ),
        ),
      );
      return;
    }
    this.syncProviderFilter();
    const matching = this.matching();
    const now = this.now();
    const flowActive = this.flowActive();
    const list = h("ul", { class: "accounts", "data-testid": "account-list" });
    // A long list is shown a page at a time (rows are built, not merely hidden): start-up with
    // a thousand accounts paints as fast as with a hundred. A just-connected account always shows.
    const visible = matching.filter((a, i) => i < this.shown || a.id === this.highlight);
    for (const account of visible) {
      list.appendChild(
        accountRow(account, {
          now,
          busy: this.busy.get(account.id),
          highlight: this.highlight === account.id,
          flowActive,
          scopeDescriptions: this.store.scopeDescriptionsOf(account.provider),
          scopeDetailsOpen: this.openScopeDetails.has(account.id),
          onScopeDetails: (open) => {
            if (open) this.openScopeDetails.add(account.id);
            else this.openScopeDetails.delete(account.id);
          },
          lastRead: this.store.lastReads.get(account.id),
          onTest: () => this.actions.onTest(account.id),
          onRefresh: () => this.actions.onRefresh(account.id),
          onDisconnect: () => this.actions.onDisconnect(account.id),
          onReconnect: () => this.actions.onReconnect(account),
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

  showLastReads(): void {
    refreshLastReads(this.list, this.store.lastReads, this.now());
  }

  /** Remembers the focused button so the rebuild after a busy change puts focus back. */
  keepFocus(): void {
    const active = document.activeElement;
    if (active && this.list.contains(active)) this.focusKey = focusKeyOf(active);
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

  /** Focus back on the same button of the same row after a rebuild, once it is usable again. */
  private restoreFocus(): void {
    const key = this.focusKey;
    if (!key) return;
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) {
      if (!this.list.contains(active)) this.focusKey = null;
      return;
    }
    const row = this.rowOf(key.accountId);
    if (row) {
      const target = [...row.querySelectorAll<HTMLElement>("[data-testid]")].find((el) => el.dataset.testid === key.testId);
      if (!target || (target as HTMLButtonElement).disabled) return;
      target.focus();
    }
    this.focusKey = null;
  }

  stop(): void {
    if (this.renderTimer !== null) window.clearTimeout(this.renderTimer);
    if (this.highlightTimer !== null) window.clearTimeout(this.highlightTimer);
    this.renderTimer = null;
    this.highlightTimer = null;
  }
}

function focusKeyOf(el: Element | null): FocusKey | null {
  if (!(el instanceof HTMLElement)) return null;
  const accountId = el.closest<HTMLElement>("[data-account-id]")?.dataset.accountId;
  const testId = el.dataset.testid;
  return accountId !== undefined && testId !== undefined ? { accountId, testId } : null;
}
