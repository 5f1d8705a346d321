/**
 * Setting up a built-in provider: where to register an app, the redirect URI(s) to paste
 * there, and the form that sends the client ID (plus secret and parameters) to the app.
 * The same panel changes the settings of a provider that is already set up.
 */
import type { ProviderSettings, ProviderView, SetupGuide } from "./bindings";
import { copyRow } from "./copy";
import { button, h } from "./dom";

export type SetupMode = "setup" | "settings";

/** What was typed into a setup form, by field name. Never holds the client secret. */
export type SetupDraft = Record<string, string>;

export type SetupPanelOptions = {
  mode: SetupMode;
  draft: SetupDraft | undefined;
  onDraft: (draft: SetupDraft) => void;
  /** Sends the settings; resolves true when they were saved (errors are reported by the caller). */
  onSave: (settings: ProviderSettings, clientSecret: string | null) => Promise<boolean>;
  onCancel: () => void;
};

export type SetupRequest = { settings: ProviderSettings; clientSecret: string | null };

/** Whether the form asks for a client secret, and whether it must be filled in. */
export function secretField(provider: ProviderView, guide: SetupGuide): "required" | "optional" | "hidden" {
  if (guide.needs_client_secret) return "required";
  if (provider.capabilities.client_secret === "optional") return "optional";
  return "hidden";
}

/**
 * Turns a setup form into the `configure_provider` arguments, or says what is missing.
 * Blank parameters are left out (the provider's default applies); a hidden or blank secret
 * is sent as null, which keeps any secret already stored.
 */
export function readSetupForm(provider: ProviderView, guide: SetupGuide, mode: SetupMode, data: FormData): SetupRequest | { problem: string } {
  const text = (name: string) => {
    const v = data.get(name);
    return typeof v === "string" ? v.trim() : "";
  };
  const clientId = text("client_id");
  if (!clientId) return { problem: `Enter the client ID ${provider.name} shows for your app.` };

  const secretRule = secretField(provider, guide);
  let clientSecret: string | null = null;
  if (secretRule !== "hidden") {
    clientSecret = text("client_secret") || null;
    if (clientSecret === null && secretRule === "required" && mode === "setup") {
      return { problem: `Enter the client secret: ${provider.name} requires it to sign in.` };
    }
  }

  const params: Record<string, string> = {};
  for (const p of guide.params) {
    const value = text(`param-${p.name}`);
    if (value) params[p.name] = value;
  }
  return { settings: { provider_id: provider.id, client_id: clientId, params }, clientSecret };
}

// ---- the panel ----------------------------------------------------------------------------

let nextId = 0;

function field(label: string, input: HTMLInputElement, help: string | null): HTMLElement {
  const id = `setup-field-${++nextId}`;
  input.id = id;
  let helpEl: HTMLElement | null = null;
  if (help) {
    helpEl = h("span", { class: "field-help small muted", id: `${id}-help` }, help);
    input.setAttribute("aria-describedby", `${id}-help`);
  }
  return h("div", { class: "field" }, h("label", { class: "field-label", for: id }, label), input, helpEl);
}

export function setupPanel(provider: ProviderView, guide: SetupGuide, opts: SetupPanelOptions): HTMLElement {
  const draft = opts.draft ?? {};
  /** The values as saved (what Cancel goes back to). */
  const saved: Record<string, string> = { client_id: opts.mode === "settings" ? provider.client_id : "" };
  for (const p of guide.params) saved[`param-${p.name}`] = p.value ?? "";
  const initial = (name: string) => draft[name] ?? saved[name] ?? "";

  const clientId = h("input", {
    type: "text",
    name: "client_id",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    value: initial("client_id"),
  });
  const fields: HTMLElement[] = [field("Client ID", clientId, `The ID ${provider.name} shows for the app you registered.`)];

  const secretRule = secretField(provider, guide);
  if (secretRule !== "hidden") {
    const secret = h("input", {
      type: "password",
      name: "client_secret",
      autocomplete: "new-password",
      spellcheck: "false",
      required: secretRule === "required" && opts.mode === "setup",
      placeholder: opts.mode === "settings" ? "leave blank to keep the stored secret" : null,
    });
    const where = "it is stored in your system keychain, not in a file.";
    const note =
      secretRule === "required"
        ? `${provider.name} requires it even from desktop apps; ${where}`
        : `Only if your app has one; ${where}`;
    fields.push(field(secretRule === "required" ? "Client secret" : "Client secret (optional)", secret, note));
  }

  for (const p of guide.params) {
    const input = h("input", {
      type: "text",
      name: `param-${p.name}`,
      autocomplete: "off",
      spellcheck: "false",
      placeholder: p.default,
      value: initial(`param-${p.name}`),
    });
    const help = [p.help, p.default ? `Leave blank for ${p.default}.` : null].filter(Boolean).join(" ");
    fields.push(field(p.label, input, help || null));
  }

  const problem = h("p", { class: "form-error", role: "alert", "data-testid": "setup-error", hidden: true });
  const save = h(
    "button",
    { type: "submit", class: "btn btn--primary", "data-testid": "setup-save" },
    opts.mode === "setup" ? "Save" : "Save settings",
  );
  // Cancel throws away what was typed; the Set up / Settings toggle only folds the panel.
  const cancel = button("Cancel", { class: "btn", "data-testid": "setup-cancel" }, () => {
    for (const input of form.querySelectorAll<HTMLInputElement>("input")) input.value = saved[input.name] ?? "";
    problem.hidden = true;
    opts.onDraft({});
    opts.onCancel();
  });
  const form = h(
    "form",
    { class: "setup-form", "data-testid": "setup-form", novalidate: true, "aria-label": `${provider.name} settings` },
    ...fields,
    problem,
    h("div", { class: "actions" }, cancel, save),
  );

  form.addEventListener("input", () => {
    const next: SetupDraft = {};
    for (const input of form.querySelectorAll<HTMLInputElement>("input")) {
      if (input.name && input.type !== "password") next[input.name] = input.value;
    }
    opts.onDraft(next);
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const read = readSetupForm(provider, guide, opts.mode, new FormData(form));
    if ("problem" in read) {
      problem.textContent = read.problem;
      problem.hidden = false;
      return;
    }
    problem.hidden = true;
    save.disabled = true;
    save.textContent = "Saving…";
    void opts.onSave(read.settings, read.clientSecret).then((ok) => {
      if (ok || !save.isConnected) return;
      save.disabled = false;
      save.textContent = opts.mode === "setup" ? "Save" : "Save settings";
    });
  });

  const uris = guide.redirect_uris;
  return h(
    "div",
    { class: "setup-panel", "data-testid": "setup-panel", "data-mode": opts.mode },
    h(
      "ol",
      { class: "setup-steps" },
      h(
        "li",
        {},
        h("p", { class: "setup-step-title" }, `Register an app with ${provider.name}`),
        h("p", { class: "setup-instructions", "data-testid": "setup-instructions" }, guide.instructions),
        guide.register_url
          ? h(
              "div",
              { class: "setup-copy" },
              h("p", { class: "small muted" }, "Open this address in your browser (copy it; this window cannot open links):"),
              copyRow(guide.register_url, "setup-register-url", "the registration address"),
            )
          : null,
      ),
      uris.length > 0
        ? h(
            "li",
            {},
            h(
              "p",
              { class: "setup-step-title" },
              uris.length === 1 ? "Paste this redirect URI exactly" : "Paste these redirect URIs exactly",
            ),
            h(
              "ul",
              { class: "setup-uris", "aria-label": "Redirect URIs" },
              ...uris.map((uri) => h("li", {}, copyRow(uri, "setup-redirect-uri", `redirect URI ${uri}`))),
            ),
          )
        : null,
      h(
        "li",
        {},
        h(
          "p",
          { class: "setup-step-title" },
          opts.mode === "setup" ? "Enter what the provider shows for your app" : "Change the settings",
        ),
        form,
      ),
    ),
  );
}
