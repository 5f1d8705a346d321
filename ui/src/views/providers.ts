/**
 * The Providers view: the providers set up (each with Connect), the built-ins still to set up
 * with their guidance, and "Add provider" by issuer URL. What was typed (scopes, setup fields,
 * the sign-in method) survives rebuilds; the client secret is never kept.
 */
import type { NewProvider, ProviderSettings, ProviderView, ResourcePlan } from "../bindings";
import { connectKinds, effectiveKind, type ConnectKind } from "../connect-kinds";
import { h, replaceChildren } from "../dom";
import { ProviderForm } from "../provider-form";
import { providerRow, setupRow, type SetupControls } from "../provider-rows";
import { ResourceForm } from "../resource-form";
import type { SetupDraft } from "../provider-setup";
import { parseScopes } from "../scopes";
import type { Store } from "../store";

export type ProviderActions = {
  onConnect(provider: ProviderView, scopes: string[] | null, kind: ConnectKind, bearer: boolean): void;
  /** Saves a built-in's settings; true when saved (the action reports its own errors). */
  onConfigure(settings: ProviderSettings, clientSecret: string | null): Promise<boolean>;
  /** Adds a provider by URL; true when added. */
  onAdd(provider: NewProvider): Promise<boolean>;
  /** "Add by URL": an API's metadata (null: failed, reported). */
  onPlanResource(url: string): Promise<ResourcePlan | null>;
  onConnectResource(url: string, label: string, confirmed: boolean): void;
};

export class ProvidersView {
  readonly element: HTMLElement;
  private readonly list = h("div", { class: "list-slot", "data-testid": "providers" });
  private readonly form: ProviderForm;
  private readonly resourceForm: ResourceForm;
  private readonly scopeDrafts = new Map<string, string>();
  /** Providers the person asked plain bearer tokens of (kept across re-renders). */
  private readonly bearer = new Set<string>();
  /** How the user chose to connect each provider, when not its default. */
  private readonly kindChoices = new Map<string, ConnectKind>();
  /** Providers whose setup or settings panel is unfolded. */
  private readonly openSetup = new Set<string>();
  /** What was typed into setup forms (never the client secret), by provider. */
  private readonly setupDrafts = new Map<string, SetupDraft>();

  constructor(
    private readonly store: Store,
    private readonly flowActive: () => boolean,
    private readonly actions: ProviderActions,
  ) {
    this.form = new ProviderForm((p) => this.actions.onAdd(p));
    this.resourceForm = new ResourceForm({
      plan: (url) => this.actions.onPlanResource(url),
      connect: (url, label, confirmed) => this.actions.onConnectResource(url, label, confirmed),
    });
    this.element = h(
      "section",
      { class: "view", "data-view": "providers", "aria-labelledby": "providers-title" },
      h(
        "div",
        { class: "section-head" },
        h("h2", { class: "section-title", id: "providers-title" }, "Providers"),
        h("div", { class: "actions" }, this.resourceForm.opener, this.form.opener),
      ),
      this.form.form,
      this.resourceForm.form,
      this.list,
    );
  }

  /** How Connect signs in to this provider: the user's choice, or the provider's default. */
  kindOf(providerId: string): ConnectKind {
    return effectiveKind(connectKinds(this.store.provider(providerId)), this.kindChoices.get(providerId));
  }

  private chooseKind(providerId: string, kind: ConnectKind): void {
    const kinds = connectKinds(this.store.provider(providerId));
    if (kind === kinds[0]) this.kindChoices.delete(providerId);
    else this.kindChoices.set(providerId, kind);
  }

  /** Unfolds a provider's setup (or settings) panel and focuses its first field. */
  openSettings(providerId: string): void {
    this.openSetup.add(providerId);
    this.render();
    const row = [...this.list.querySelectorAll<HTMLElement>("[data-provider-id]")].find((r) => r.dataset.providerId === providerId);
    row?.querySelector<HTMLElement>('[data-testid="setup-panel"] input, [data-testid="setup-panel"] select')?.focus();
  }

  /** A provider was saved: its panel folds and its draft goes. */
  saved(providerId: string): void {
    this.openSetup.delete(providerId);
    this.setupDrafts.delete(providerId);
  }

  /** After saving: Connect for a new provider, its settings button for an edited one. */
  focusRow(providerId: string, settings: boolean): void {
    const row = [...this.list.querySelectorAll<HTMLElement>('[data-testid="provider-row"]')].find(
      (r) => r.dataset.providerId === providerId,
    );
    row?.querySelector<HTMLElement>(settings ? '[data-testid="settings-toggle"]' : '[data-testid="connect"]')?.focus();
  }

  private setupControls(provider: ProviderView): SetupControls {
    const id = provider.id;
    return {
      open: this.openSetup.has(id),
      draft: this.setupDrafts.get(id),
      onToggle: (open) => {
        if (open) this.openSetup.add(id);
        else this.openSetup.delete(id);
      },
      onDraft: (draft) => this.setupDrafts.set(id, draft),
      onSave: (settings, clientSecret) => this.actions.onConfigure(settings, clientSecret),
    };
  }

  /** Providers set up (with Connect) first, then the built-ins still to be set up. */
  render(): void {
    if (!this.store.loaded) return;
    const configured = this.store.providers.filter((p) => p.configured);
    const waiting = this.store.providers.filter((p) => !p.configured);
    const parts: HTMLElement[] = [];
    if (configured.length === 0) {
      parts.push(
        h(
          "p",
          { class: "empty", "data-testid": "providers-empty" },
          waiting.length > 0
            ? "No provider is set up yet — pick one under “Set up a provider” below, or use “Add provider” with an issuer URL."
            : "No providers yet — use “Add provider” with the server’s issuer URL (and a client ID, where it does not let apps register themselves).",
        ),
      );
    } else {
      const flowActive = this.flowActive();
      const list = h("ul", { class: "providers", "data-testid": "provider-list" });
      for (const provider of configured) {
        list.appendChild(
          providerRow(provider, {
            draftScopes: this.scopeDrafts.get(provider.id) ?? "",
            flowActive,
            onDraft: (text) => this.scopeDrafts.set(provider.id, text),
            kinds: connectKinds(provider),
            kind: this.kindOf(provider.id),
            onKind: (kind) => this.chooseKind(provider.id, kind),
            bearer: this.bearer.has(provider.id),
            onBearer: (on) => (on ? this.bearer.add(provider.id) : this.bearer.delete(provider.id)),
            onConnect: (text, kind, bearer) => {
              const scopes = parseScopes(text);
              this.actions.onConnect(provider, scopes.length > 0 ? scopes : null, kind, bearer);
            },
            settings: this.setupControls(provider),
          }),
        );
      }
      parts.push(list);
    }
    if (waiting.length > 0) {
      parts.push(
        h(
          "section",
          { class: "setup-group", "data-testid": "setup-providers", "aria-labelledby": "setup-title" },
          h("h3", { class: "group-title", id: "setup-title" }, "Set up a provider"),
          h(
            "p",
            { class: "small muted" },
            "Register this app with the provider once, paste its client ID here, then connect as many accounts as you like.",
          ),
          h(
            "ul",
            { class: "providers providers--setup", "data-testid": "setup-list" },
            ...waiting.map((p) => setupRow(p, this.setupControls(p))),
          ),
        ),
      );
    }
    replaceChildren(this.list, ...parts);
  }
}
