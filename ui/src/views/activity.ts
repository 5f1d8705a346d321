/**
 * The Activity view: the latest entries of the audit log (connects, refreshes, token reads,
 * disconnects), filtered by account and by a word.
 */
import { h, replaceChildren } from "../dom";
import type { AuditEvent } from "../bindings";
import { accountLabel } from "../render";
import { absoluteTime } from "../time";
import type { Store } from "../store";

export class ActivityView {
  readonly element: HTMLElement;
  private readonly slot = h("div", { class: "audit-slot", "data-testid": "activity" });
  private readonly account: HTMLSelectElement;
  private readonly text: HTMLInputElement;

  constructor(private readonly store: Store) {
    this.account = h("select", { "aria-label": "Show activity of account", "data-testid": "activity-filter-account" });
    this.text = h("input", {
      type: "search",
      class: "search",
      placeholder: "Filter activity",
      "aria-label": "Filter activity",
      "data-testid": "activity-filter-text",
      spellcheck: "false",
      autocomplete: "off",
    });
    for (const control of [this.account, this.text]) control.addEventListener("input", () => this.render());
    this.element = h(
      "section",
      { class: "view", "data-view": "activity", "aria-labelledby": "activity-title" },
      h("div", { class: "section-head" }, h("h2", { class: "section-title", id: "activity-title" }, "Activity")),
      h("div", { class: "toolbar" }, this.text, this.account),
      this.slot,
    );
  }

  /** Shows only `id`'s entries (the account page's "See its activity"). */
  showAccount(id: string): void {
    this.text.value = "";
    this.render(id);
  }

  render(wanted: string = this.account.value): void {
    const current = wanted;
    const ids = new Set(this.store.audit.map((e) => e.account_id).filter((id): id is string => id !== null));
    const options = [...ids].map((id) => {
      const a = this.store.account(id);
      return h("option", { value: id }, a ? `${accountLabel(a)} (${a.provider_name})` : "a disconnected account");
    });
    replaceChildren(this.account, h("option", { value: "" }, "All accounts"), ...options);
    this.account.value = ids.has(current) ? current : "";

    if (this.store.auditError) {
      replaceChildren(
        this.slot,
        h("p", { class: "empty", "data-testid": "audit-error" }, `Could not load the activity list: ${this.store.auditError}`),
      );
      return;
    }
    const word = this.text.value.trim().toLowerCase();
    const shown = this.store.audit.filter(
      (e) =>
        (this.account.value === "" || e.account_id === this.account.value) &&
        (word === "" || `${e.kind} ${e.detail}`.toLowerCase().includes(word)),
    );
    replaceChildren(
      this.slot,
      shown.length === 0 && this.store.audit.length > 0
        ? h("p", { class: "empty", "data-testid": "audit-none-match" }, "No activity matches the filter.")
        : auditList(shown),
    );
  }
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
    // It scrolls on its own: focusable, so the keyboard can scroll it too.
    { class: "audit", "data-testid": "audit-list", tabindex: "0", "aria-label": "Activity entries" },
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
