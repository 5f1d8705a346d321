/**
 * An account's page: who it is, its status with the one action that fixes it, its scopes in
 * words (granted against requested, and a way to change them), its lifetimes, the programs that
 * used it, and Test, Refresh and Disconnect, with what Disconnect does said before the click.
 * Later sections (resource, device binding) go between "Access" and the end.
 */
import type { Account, Policy, ProviderView } from "../bindings";
import { cannotRevoke } from "../capabilities";
import { button, h, replaceChildren } from "../dom";
import { providerLogo } from "../logos";
import { accountLabel, expiryElement, lastReadElement, scopesBlock, shownStatus, statusBadge, type RowAction } from "../render";
import { parseScopes } from "../scopes";
import type { Store } from "../store";
import { programName } from "../approval";
import { absoluteTime } from "../time";

/** The policies, loosest first, as the page words them. */
const POLICY_CHOICES: [Policy, string, string][] = [
  ["allow", "Allow", "any program of yours gets it"],
  ["ask", "Ask each time", "a program gets it only once you approve it; with nobody to ask, it is refused"],
  ["deny", "Deny", "no program gets it through Connected Accounts"],
];

export type AccountPageActions = {
  onTest(id: string): void;
  /** A GET of a URL on the provider's API, shown like the test. */
  onRequest(id: string, url: string): void;
  onRefresh(id: string): void;
  /** Who may read its token: the person's click, so it may loosen the policy too. */
  onPolicy(id: string, policy: Policy): void;
  /** Ends an approval in force: that program is asked again next time. */
  onEndApproval(approvalId: string): void;
  onDisconnect(id: string): void;
  /** Connect again, with other scopes when given. */
  onReconnect(account: Account, scopes: string[] | null): void;
  onBack(): void;
  onActivity(id: string): void;
};

export class AccountPage {
  readonly element: HTMLElement;
  private readonly body = h("div", { class: "account-page-body" });
  private id: string | null = null;
  private scopeDetailsOpen = false;
  private changingScopes = false;
  private scopeDraft: string | null = null;
  /** The request box's URL as typed, kept across re-renders of the same account's page. */
  private requestDraft: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly busy: Map<string, RowAction>,
    private readonly flowActive: () => boolean,
    private readonly actions: AccountPageActions,
  ) {
    this.element = h(
      "section",
      { class: "view", "data-view": "account", "aria-labelledby": "account-title" },
      button("‹ All accounts", { class: "btn btn--small back", "data-testid": "account-back" }, () => this.actions.onBack()),
      this.body,
    );
  }

  current(): string | null {
    return this.id;
  }

  open(id: string): void {
    if (this.id !== id) {
      this.scopeDetailsOpen = false;
      this.changingScopes = false;
      this.scopeDraft = null;
      this.requestDraft = null;
    }
    this.id = id;
    this.render();
  }

  close(): void {
    this.id = null;
    replaceChildren(this.body);
  }

  /** Rebuilt from the store; focus stays on the same control when it still exists. */
  render(): void {
    if (this.id === null) return;
    const account = this.store.account(this.id);
    if (!account) {
      // Disconnected (here or elsewhere): the page has nothing left to show.
      this.close();
      this.actions.onBack();
      return;
    }
    const focused = document.activeElement instanceof HTMLElement && this.body.contains(document.activeElement)
      ? document.activeElement.dataset.testid
      : undefined;
    replaceChildren(this.body, this.page(account, this.store.provider(account.provider)));
    if (focused) {
      const again = this.body.querySelector<HTMLElement>(`[data-testid="${focused}"]`);
      if (again && !(again as HTMLButtonElement).disabled) again.focus();
    }
  }

  private page(account: Account, provider: ProviderView | undefined): HTMLElement {
    const busy = this.busy.get(account.id);
    const status = shownStatus(account, busy);
    const name = accountLabel(account);
    const isBusy = busy !== undefined;
    const logo = providerLogo(provider ?? { id: account.provider, name: account.provider_name, builtin: false });
    return h(
      "div",
      {
        class: "account-page",
        "data-testid": "account-page",
        "data-account-id": account.id,
        "data-provider-id": account.provider,
        "data-status": status,
        "data-expires-at": account.expires_at ?? "",
        "data-busy": busy ?? null,
        "aria-busy": isBusy ? "true" : null,
      },
      h(
        "header",
        { class: "page-head" },
        logo,
        h(
          "div",
          { class: "account-who" },
          h("h2", { class: "account-name", id: "account-title", "data-testid": "account-name" }, name),
          account.email && account.email !== name
            ? h("span", { class: "account-email", "data-testid": "account-email" }, account.email)
            : null,
          h("span", { class: "account-provider", "data-testid": "account-provider" }, `${account.provider_name} · ${account.subject}`),
          account.resource
            ? h("span", { class: "account-provider small", "data-testid": "account-resource" }, `Tokens for ${account.resource} only`)
            : null,
          account.bound
            ? h(
                "span",
                { class: "account-provider small", "data-testid": "account-bound" },
                "Bound to this device: its tokens work only with a key kept here, so a copied token is useless. Programs use it through Connected Accounts (connected-accounts request), not as a token.",
              )
            : null,
        ),
        h("div", { class: "account-state" }, statusBadge(status), expiryElement(account, this.now())),
      ),
      this.fix(account, isBusy),
      h(
        "div",
        { class: "actions actions--start" },
        button("Test", { class: "btn", "data-testid": "test", disabled: isBusy, "aria-label": `Test ${name}` }, () => this.actions.onTest(account.id)),
        button("Refresh", { class: "btn", "data-testid": "refresh", disabled: isBusy, "aria-label": `Refresh ${name}` }, () => this.actions.onRefresh(account.id)),
        button("Disconnect…", { class: "btn btn--quiet-danger", "data-testid": "disconnect", disabled: isBusy, "aria-label": `Disconnect ${name}` }, () => this.actions.onDisconnect(account.id)),
      ),
      h("p", { class: "hint small", "data-testid": "disconnect-effect" }, disconnectEffect(account, provider)),
      this.section("Scopes", "account-scopes", scopesBlock(account, {
        scopeDescriptions: this.store.scopeDescriptionsOf(account.provider),
        scopeDetailsOpen: this.scopeDetailsOpen,
        onScopeDetails: (open) => (this.scopeDetailsOpen = open),
      }), this.changeScopes(account, isBusy)),
      this.section("Lifetimes", "account-lifetimes", lifetimes(account)),
      this.section("Used by", "account-used-by", this.usedBy(account)),
      this.section("Access", "account-policy", this.policy(account, isBusy)),
      provider?.api_origins.length ? this.section("Request", "account-request", this.requestBox(account, provider, isBusy)) : null,
    );
  }

  private section(title: string, testid: string, ...children: (HTMLElement | null)[]): HTMLElement {
    const id = `${testid}-title`;
    return h("section", { class: "page-section", "aria-labelledby": id }, h("h3", { class: "group-title", id }, title), h("div", { "data-testid": testid }, ...children));
  }

  /** The one thing that makes a broken account work again, first on the page. */
  private fix(account: Account, busy: boolean): HTMLElement | null {
    const parts: HTMLElement[] = [];
    if (account.last_error) parts.push(h("p", { class: "row-error", "data-testid": "account-error" }, account.last_error));
    if (account.status === "needs_reconnect") {
      parts.push(
        h(
          "div",
          { class: "reconnect", "data-testid": "reconnect-hint" },
          h("p", {}, `This sign-in is no longer valid. Connect ${account.provider_name} again to use this account.`),
          button("Connect again", { class: "btn btn--primary", "data-testid": "reconnect", disabled: busy || this.flowActive() }, () =>
            this.actions.onReconnect(account, account.scopes_requested.length > 0 ? account.scopes_requested : null),
          ),
        ),
      );
    }
    return parts.length > 0 ? h("div", { class: "page-fix" }, ...parts) : null;
  }

  /** "Change scopes…": a field with the scopes to ask for, then a new sign-in for them. */
  private changeScopes(account: Account, busy: boolean): HTMLElement {
    if (!this.changingScopes) {
      return button("Change scopes…", { class: "btn btn--small", "data-testid": "change-scopes", disabled: busy || this.flowActive() }, () => {
        this.changingScopes = true;
        this.render();
        this.body.querySelector<HTMLInputElement>('[data-testid="change-scopes-field"]')?.focus();
      });
    }
    const wanted = account.scopes_requested.length > 0 ? account.scopes_requested : account.scopes_granted;
    const field = h("input", {
      type: "text",
      class: "scope-input",
      "data-testid": "change-scopes-field",
      "aria-label": "Scopes to ask for, separated by spaces",
      spellcheck: "false",
      autocomplete: "off",
      value: this.scopeDraft ?? wanted.join(" "),
    });
    field.addEventListener("input", () => (this.scopeDraft = field.value));
    const cancel = () => {
      this.changingScopes = false;
      this.scopeDraft = null;
      this.render();
      this.body.querySelector<HTMLElement>('[data-testid="change-scopes"]')?.focus();
    };
    const form = h(
      "form",
      { class: "change-scopes", "data-testid": "change-scopes-form" },
      h("label", { class: "field" }, h("span", { class: "field-label small" }, `Ask ${account.provider_name} for these scopes (a new sign-in):`), field),
      h(
        "div",
        { class: "actions actions--start" },
        h("button", { type: "submit", class: "btn btn--primary", "data-testid": "change-scopes-connect", disabled: busy || this.flowActive() }, "Sign in with these scopes"),
        button("Cancel", { class: "btn", "data-testid": "change-scopes-cancel" }, cancel),
      ),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const scopes = parseScopes(field.value);
      this.changingScopes = false;
      this.scopeDraft = null;
      this.actions.onReconnect(account, scopes.length > 0 ? scopes : null);
    });
    form.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        cancel();
      }
    });
    return form;
  }

  /** A URL on the provider's API, fetched with GET by the app with the account's token. */
  private requestBox(account: Account, provider: ProviderView, busy: boolean): HTMLElement {
    const field = h("input", {
      type: "url",
      class: "request-input",
      "data-testid": "request-url",
      "aria-label": `URL on ${provider.name}’s API`,
      "aria-describedby": "request-help",
      spellcheck: "false",
      autocomplete: "off",
      value: this.requestDraft ?? provider.userinfo_url ?? `${provider.api_origins[0]}/`,
    });
    field.addEventListener("input", () => (this.requestDraft = field.value));
    const form = h(
      "form",
      { class: "request-form", "data-testid": "request-form", novalidate: true },
      field,
      h("button", { type: "submit", class: "btn", "data-testid": "request-send", disabled: busy }, "Send GET"),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.actions.onRequest(account.id, field.value.trim());
    });
    const origins = provider.api_origins.join(", ");
    return h(
      "div",
      { class: "request" },
      form,
      h("p", { class: "muted small", id: "request-help" }, `The app sends it with this account’s token, only to ${origins}; the window sees the response, never the token.`),
    );
  }

  /** Who may read the token through the app: allow, ask or deny, with what each means. */
  private policy(account: Account, busy: boolean): HTMLElement {
    const name = `policy-${account.id}`;
    const choices = POLICY_CHOICES.map(([value, label, meaning]) => {
      const input = h("input", { type: "radio", name, value, "data-testid": `policy-${value}`, disabled: busy, "aria-describedby": `${name}-${value}-meaning` });
      input.checked = account.policy === value;
      input.addEventListener("change", () => {
        if (input.checked) this.actions.onPolicy(account.id, value);
      });
      return h(
        "div",
        { class: "choice" },
        h("label", {}, input, " ", label),
        h("span", { class: "muted small", id: `${name}-${value}-meaning` }, ` — ${meaning}`),
      );
    });
    return h(
      "fieldset",
      { class: "choices", "data-policy": account.policy },
      h("legend", {}, "Programs on this computer that ask for its token (scripts, git, exec)"),
      ...choices,
      h(
        "p",
        { class: "hint small", "data-testid": "policy-limits" },
        "This governs what goes through Connected Accounts. A program running as you can still read the system keychain directly.",
      ),
      this.liveApprovals(account),
    );
  }

  /** The approvals in force for this account, each with a way to end it. */
  private liveApprovals(account: Account): HTMLElement | null {
    const live = this.store.approvals.filter((a) => a.account_id === account.id);
    if (live.length === 0) return null;
    return h(
      "ul",
      { class: "approvals", "data-testid": "live-approvals", "aria-label": "Approvals in force" },
      ...live.map((a) => {
        const what = a.always_git
          ? "Git, always"
          : `${programName(a.program)} in its session, until ${a.ends_at ? absoluteTime(a.ends_at) : "?"} (or 10 minutes unused)`;
        return h(
          "li",
          { "data-testid": "live-approval", "data-approval-id": a.id, title: a.program ?? "" },
          h("span", {}, what),
          " ",
          button("End", { class: "btn btn--small", "data-testid": "end-approval", "aria-label": `End: ${what}` }, () => this.actions.onEndApproval(a.id)),
        );
      }),
    );
  }

  private usedBy(account: Account): HTMLElement {
    const read = this.store.lastReads.get(account.id);
    return h(
      "div",
      { class: "used-by" },
      read ? lastReadElement(read, this.now()) : h("p", { class: "muted small", "data-testid": "account-never-read" }, "No program on this computer has read its token yet."),
      button("See its activity", { class: "btn btn--small", "data-testid": "account-activity" }, () => this.actions.onActivity(account.id)),
    );
  }
}

/** What Disconnect will do at the provider, said before the click. */
export function disconnectEffect(account: Account, provider: ProviderView | undefined): string {
  if (provider && cannotRevoke(provider.capabilities)) {
    return `Disconnect forgets this account here. ${account.provider_name} offers apps no way to revoke, so its access stays until you remove the app in your ${account.provider_name} settings.`;
  }
  return `Disconnect revokes this account’s tokens at ${account.provider_name}, then forgets it here.`;
}

function lifetimes(account: Account): HTMLElement {
  const facts: [string, string][] = [
    // A time, not "valid until": the page is not rebuilt as the clock passes it (the header's
    // "expires in …" is, once a minute).
    ["Access token expiry", account.expires_at ? absoluteTime(account.expires_at) : "none given by the server"],
    [
      "Sign-in lasts until",
      account.sign_in_ends_at
        ? absoluteTime(account.sign_in_ends_at)
        : "no end given by the server or its settings",
    ],
    ...(account.idle_ends_at
      ? ([
          [
            "If unused",
            `the sign-in would end ${absoluteTime(account.idle_ends_at)}; Connected Accounts refreshes it long before, while it runs`,
          ],
        ] as [string, string][])
      : []),
    ["Connected", absoluteTime(account.created_at)],
    ["Last change", absoluteTime(account.updated_at)],
  ];
  return h("dl", { class: "facts" }, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
