/** The "Add provider" form: opening and closing it, reading and checking what was typed. */
import type { NewProvider } from "./bindings";
import { button, h } from "./dom";
import { parseScopes } from "./scopes";

/** What is wrong with the form; `advanced` when the field is under "Advanced". */
export type FormProblem = { problem: string; advanced?: boolean };

/** Turns the form's fields into a NewProvider (blank optional fields become null), or says what is missing. */
/** The app's private-use redirect, which a server may register besides a loopback one. */
const CUSTOM_SCHEME = "io.github.connectedaccounts:/oauth/callback";

/** The form's provider; an empty client ID means the app registers itself (RFC 7591). */
export function readNewProvider(data: FormData): NewProvider | FormProblem {
  const text = (name: string) => {
    const v = data.get(name);
    return typeof v === "string" ? v.trim() : "";
  };
  const issuer = text("issuer");
  const clientId = text("client_id");
  if (!issuer) return { problem: "Enter the issuer URL." };
  if (!isHttpUrl(issuer)) return { problem: "The issuer must be a full URL, like https://accounts.example.com." };
  const userinfo = text("userinfo_endpoint");
  if (userinfo && !isHttpUrl(userinfo)) {
    return { problem: "The userinfo endpoint must be a full URL, like https://accounts.example.com/userinfo.", advanced: true };
  }
  const revocation = text("revocation_endpoint");
  if (revocation && !isHttpUrl(revocation)) {
    return { problem: "The revocation endpoint must be a full URL, like https://accounts.example.com/revoke.", advanced: true };
  }
  // One exact redirect URI per line or space (loopback with its port, or the app's own scheme).
  const redirects = text("redirect_uris").split(/\s+/).filter((r) => r !== "");
  for (const r of redirects) {
    if (r !== CUSTOM_SCHEME && !/^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d+\/\S+$/.test(r)) {
      return {
        problem: `The redirect URI ${r} must be http://127.0.0.1:PORT/PATH (or [::1] or localhost), or ${CUSTOM_SCHEME}.`,
        advanced: true,
      };
    }
  }
  return {
    issuer,
    client_id: clientId,
    redirect_uris: redirects,
    name: text("name") || null,
    scopes: parseScopes(text("scopes")),
    userinfo_endpoint: userinfo || null,
    revocation_endpoint: revocation || null,
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === "https:" || u.protocol === "http:";
  } catch {
    return false;
  }
}

export class ProviderForm {
  /** The "Add provider" button that shows and hides the form. */
  readonly opener: HTMLButtonElement;
  readonly form: HTMLFormElement;
  /** The "Advanced" disclosure with the hand-entered endpoints. */
  private readonly advanced: HTMLDetailsElement;
  private readonly problem = h("p", {
    class: "form-error",
    role: "alert",
    "data-testid": "add-provider-error",
    hidden: true,
  });

  /** `submit` adds the provider and resolves true on success (it reports its own errors). */
  constructor(private readonly submit: (provider: NewProvider) => Promise<boolean>) {
    this.opener = button(
      "Add provider",
      { class: "btn", "data-testid": "add-provider-open", "aria-expanded": "false", "aria-controls": "add-provider" },
      () => (this.form.hidden ? this.open() : this.close()),
    );
    const field = (label: string, name: string, attrs: Record<string, string | boolean>, help?: string) =>
      h(
        "label",
        { class: "field" },
        h("span", { class: "field-label" }, label),
        h("input", { type: "text", name, autocomplete: "off", spellcheck: "false", ...attrs }),
        help ? h("span", { class: "field-help small muted" }, help) : null,
      );
    const endpointHelp = "only if the provider's metadata does not list it";
    this.advanced = h(
      "details",
      { class: "add-provider-advanced", "data-testid": "add-provider-advanced" },
      h("summary", { class: "small" }, "Advanced"),
      h(
        "div",
        { class: "add-provider-advanced-fields" },
        field(
          "Userinfo endpoint (optional)",
          "userinfo_endpoint",
          { placeholder: "https://accounts.example.com/userinfo", inputmode: "url" },
          endpointHelp,
        ),
        field(
          "Revocation endpoint (optional)",
          "revocation_endpoint",
          { placeholder: "https://accounts.example.com/revoke", inputmode: "url" },
          endpointHelp,
        ),
        field(
          "Exact redirect URIs (optional)",
          "redirect_uris",
          { placeholder: "http://127.0.0.1:8765/callback" },
          "For a server that matches redirect URIs exactly: the ones registered there, separated by spaces.",
        ),
      ),
    );
    const send = h("button", { type: "submit", class: "btn btn--primary", "data-testid": "add-provider-submit" }, "Add provider");
    const cancel = button("Cancel", { class: "btn", "data-testid": "add-provider-cancel" }, () => this.close());
    this.form = h(
      "form",
      { class: "add-provider", id: "add-provider", "data-testid": "add-provider-form", hidden: true, novalidate: true },
      h(
        "p",
        { class: "small muted" },
        "The app reads the provider’s endpoints from its issuer (OpenID Connect or OAuth server metadata).",
      ),
      field("Issuer URL", "issuer", { placeholder: "https://accounts.example.com", inputmode: "url", required: true }),
      field(
        "Client ID (optional)",
        "client_id",
        {},
        "Leave it empty and the app registers itself, where the server allows it.",
      ),
      field("Name (optional)", "name", { placeholder: "shown in the list" }),
      field("Scopes (optional)", "scopes", { placeholder: "openid email profile" }, "Separate scopes with spaces."),
      this.advanced,
      this.problem,
      h("div", { class: "actions" }, cancel, send),
    );
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.send(send);
    });
  }

  open(): void {
    this.form.hidden = false;
    this.opener.setAttribute("aria-expanded", "true");
    this.form.querySelector<HTMLInputElement>('input[name="issuer"]')?.focus();
  }

  close(): void {
    this.form.hidden = true;
    this.problem.hidden = true;
    this.opener.setAttribute("aria-expanded", "false");
    this.opener.focus();
  }

  private async send(sendButton: HTMLButtonElement): Promise<void> {
    const read = readNewProvider(new FormData(this.form));
    if ("problem" in read) {
      this.problem.textContent = read.problem;
      this.problem.hidden = false;
      if (read.advanced) this.advanced.open = true;
      return;
    }
    this.problem.hidden = true;
    sendButton.disabled = true;
    // Discovery is a network round trip: say it is under way.
    const label = sendButton.textContent;
    sendButton.textContent = "Adding…";
    this.form.setAttribute("aria-busy", "true");
    try {
      if (await this.submit(read)) {
        this.form.reset();
        this.advanced.open = false;
        this.close();
      }
    } finally {
      sendButton.disabled = false;
      sendButton.textContent = label;
      this.form.removeAttribute("aria-busy");
    }
  }
}
