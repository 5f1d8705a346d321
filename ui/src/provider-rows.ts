/**
 * Provider rows: set-up providers with their Connect controls, and the compact rows of
 * built-in providers still waiting to be set up (expanding into the setup guide).
 */
import type { ProviderSettings, ProviderView } from "./bindings";
import { cannotRevoke, capabilityDetails, capabilityLine, NO_REVOKE_HINT } from "./capabilities";
import { CONNECT_KIND_LABELS, type ConnectKind } from "./connect-kinds";
import { button, h } from "./dom";
import { providerLogo } from "./logos";
import { setupPanel, type SetupDraft } from "./provider-setup";
import { scopeDescription } from "./scopes";

/** State and callbacks of the setup/settings panel of one provider. */
export type SetupControls = {
  open: boolean;
  draft: SetupDraft | undefined;
  onToggle: (open: boolean) => void;
  onDraft: (draft: SetupDraft) => void;
  onSave: (settings: ProviderSettings, clientSecret: string | null) => Promise<boolean>;
};

export type ProviderRowOptions = {
  draftScopes: string;
  flowActive: boolean;
  onDraft: (text: string) => void;
  /** How this provider can be connected, the default first; a choice is offered when there are several. */
  kinds: readonly ConnectKind[];
  /** The kind selected now (kept across re-renders). */
  kind: ConnectKind;
  onKind: (kind: ConnectKind) => void;
  /** Plain bearer tokens asked for, where the provider would bind them to this device. */
  bearer: boolean;
  onBearer: (bearer: boolean) => void;
  onConnect: (scopeText: string, kind: ConnectKind, bearer: boolean) => void;
  /** The "Settings" panel, for built-in providers. */
  settings: SetupControls;
};

function capabilitiesLine(provider: ProviderView): HTMLElement {
  return h(
    "p",
    {
      class: "caps small muted",
      "data-testid": "provider-capabilities",
      title: capabilityDetails(provider.capabilities),
    },
    capabilityLine(provider.capabilities),
  );
}

function revokeHint(provider: ProviderView): HTMLElement | null {
  return cannotRevoke(provider.capabilities)
    ? h("p", { class: "hint small", "data-testid": "revocation-hint" }, NO_REVOKE_HINT)
    : null;
}

/** For a provider added by URL: how the app is registered there, and its exact redirects. */
function registrationLine(provider: ProviderView): HTMLElement | null {
  if (provider.builtin) return null;
  const exact = provider.redirect_uris.filter((u) => /^http:\/\/[^/]+:\d+\//.test(u));
  const parts: string[] = [];
  if (provider.registered) parts.push("The app registered itself here; the registration goes with the last account.");
  if (exact.length > 0) parts.push(`Signs in through ${exact.join(", ")}.`);
  if (parts.length === 0) return null;
  return h("p", { class: "small muted", "data-testid": "provider-registration" }, parts.join(" "));
}

function scopeChips(provider: ProviderView): HTMLElement {
  if (provider.scopes.length === 0) return h("span", { class: "muted small" }, "No default scopes");
  return h(
    "ul",
    { class: "chips chips--plain", "aria-label": "Default scopes", "data-testid": "provider-scopes" },
    ...provider.scopes.map((s) =>
      h("li", { class: "chip chip--plain", "data-testid": "provider-scope", title: scopeDescription(provider.scope_descriptions, s) }, s),
    ),
  );
}

/**
 * A toggle button plus the panel it shows and hides. The panel is toggled in place (no
 * re-render), so focus and typed text stay put; the caller only records the state.
 */
function toggled(
  provider: ProviderView,
  controls: SetupControls,
  mode: "setup" | "settings",
  label: string,
  attrs: { class: string; "data-testid": string; "aria-label": string },
): { toggle: HTMLButtonElement; panel: HTMLElement } | null {
  const guide = provider.setup;
  if (!guide) return null;
  const panelId = `${mode}-panel-${provider.id}`;
  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    panel.closest(".provider")?.classList.toggle("is-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    controls.onToggle(open);
  };
  const panel = setupPanel(provider, guide, {
    mode,
    draft: controls.draft,
    onDraft: controls.onDraft,
    onSave: controls.onSave,
    onCancel: () => {
      setOpen(false);
      toggle.focus();
    },
  });
  panel.id = panelId;
  panel.hidden = !controls.open;
  const toggle = button(
    label,
    { ...attrs, "aria-expanded": String(controls.open), "aria-controls": panelId },
    () => setOpen(toggle.getAttribute("aria-expanded") !== "true"),
  );
  return { toggle, panel };
}

/** "Bind tokens to this device" (DPoP), on by default, where the server offers it. */
function bindChoice(provider: ProviderView, opts: ProviderRowOptions): HTMLInputElement | null {
  if (!provider.binds_tokens) return null;
  const box = h("input", { type: "checkbox", "data-testid": "connect-bind", name: "connect-bind" });
  box.checked = !opts.bearer;
  box.addEventListener("change", () => opts.onBearer(!box.checked));
  return box;
}

/** The "Sign in with" select, or null when the provider offers one way only. */
function kindSelect(provider: ProviderView, opts: ProviderRowOptions): HTMLSelectElement | null {
  if (opts.kinds.length < 2) return null;
  const select = h(
    "select",
    { class: "redirect-select", "data-testid": "connect-redirect", name: "connect-redirect", "aria-label": `How to sign in to ${provider.name}` },
    ...opts.kinds.map((kind) => h("option", { value: kind, selected: kind === opts.kind }, CONNECT_KIND_LABELS[kind])),
  );
  select.value = opts.kind;
  select.addEventListener("change", () => opts.onKind(selectedKind(select, opts)));
  return select;
}

function selectedKind(select: HTMLSelectElement | null, opts: ProviderRowOptions): ConnectKind {
  if (!select) return opts.kind;
  return opts.kinds.find((k) => k === select.value) ?? opts.kind;
}

export function providerRow(provider: ProviderView, opts: ProviderRowOptions): HTMLElement {
  const kindChoice = kindSelect(provider, opts);
  const bind = bindChoice(provider, opts);
  const bearerOf = () => (bind ? !bind.checked : false);
  const input = h("input", {
    type: "text",
    class: "scope-input",
    "data-testid": "connect-scopes",
    name: "connect-scopes",
    placeholder: provider.scopes.length > 0 ? provider.scopes.join(" ") : "provider default",
    autocomplete: "off",
    spellcheck: "false",
    value: opts.draftScopes,
    "aria-label": `Scopes for ${provider.name} (optional)`,
  });
  input.addEventListener("input", () => opts.onDraft(input.value));
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !connect.disabled) {
      ev.preventDefault();
      opts.onConnect(input.value, selectedKind(kindChoice, opts), bearerOf());
    }
  });
  const connect = button(
    "Connect",
    { class: "btn btn--primary", "data-testid": "connect", disabled: opts.flowActive, "aria-label": `Connect ${provider.name}` },
    () => opts.onConnect(input.value, selectedKind(kindChoice, opts), bearerOf()),
  );
  const settings = provider.builtin
    ? toggled(provider, opts.settings, "settings", "Settings", {
        class: "btn btn--small",
        "data-testid": "settings-toggle",
        "aria-label": `${provider.name} settings`,
      })
    : null;

  return h(
    "li",
    {
      class: settings && opts.settings.open ? "provider is-open" : "provider",
      "data-testid": "provider-row",
      "data-provider-id": provider.id,
      "data-configured": "true",
    },
    h(
      "div",
      { class: "provider-main" },
      providerLogo(provider),
      h(
        "div",
        { class: "provider-info" },
        h("span", { class: "provider-name", "data-testid": "provider-name" }, provider.name),
        h("span", { class: "provider-issuer", "data-testid": "provider-issuer" }, provider.issuer),
        capabilitiesLine(provider),
        scopeChips(provider),
        registrationLine(provider),
        revokeHint(provider),
      ),
      h(
        "div",
        { class: "provider-connect" },
        h("label", { class: "scope-label" }, h("span", { class: "field-label small" }, "Scopes (optional)"), input),
        kindChoice
          ? h("label", { class: "scope-label" }, h("span", { class: "field-label small" }, "Sign in with"), kindChoice)
          : null,
        bind
          ? h(
              "label",
              { class: "choice small", title: "A copied token is useless without this device’s key. Scripts that need the token itself (token, exec, git) want it off." },
              bind,
              " Bind tokens to this device",
            )
          : null,
        connect,
        settings?.toggle,
      ),
    ),
    settings?.panel,
  );
}

/** A built-in provider not set up yet: logo, name, capabilities and "Set up". */
export function setupRow(provider: ProviderView, controls: SetupControls): HTMLElement {
  const setup = toggled(provider, controls, "setup", "Set up", {
    class: "btn btn--small",
    "data-testid": "setup-toggle",
    "aria-label": `Set up ${provider.name}`,
  });
  setup?.panel.prepend(
    h(
      "div",
      { class: "setup-about" },
      h("span", { class: "small muted" }, "Asks for:"),
      scopeChips(provider),
      revokeHint(provider),
    ),
  );
  return h(
    "li",
    {
      class: setup && controls.open ? "provider provider--setup is-open" : "provider provider--setup",
      "data-testid": "provider-setup-row",
      "data-provider-id": provider.id,
      "data-configured": "false",
    },
    h(
      "div",
      { class: "provider-main provider-main--compact" },
      providerLogo(provider),
      h(
        "div",
        { class: "provider-info" },
        h("span", { class: "provider-name", "data-testid": "provider-name" }, provider.name),
        capabilitiesLine(provider),
      ),
      setup
        ? setup.toggle
        : h("span", { class: "muted small" }, "Add it again with “Add provider” and a client ID."),
    ),
    setup?.panel,
  );
}
