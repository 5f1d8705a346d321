// The Providers section: set-up providers first, the setup guide for built-ins, capabilities,
// logos, and scope descriptions on provider and account rows.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Account, ProviderSettings, ProviderView } from "./bindings";
import { FakeBackend, account, builtin, deferred, provider, uiError } from "../test/fake-backend";
import { allByTestId, boot, byTestId, click, stopApp } from "../test/window";

afterEach(stopApp);

/** A backend whose `configure_provider` behaves like the Rust one: it stores the settings and marks the provider configured. */
function backendWith(providers: ProviderView[], accounts: Account[] = []): FakeBackend {
  const list = providers.map((p) => ({ ...p }));
  return new FakeBackend({
    list_providers: () => list,
    list_accounts: () => accounts,
    recover_interrupted: () => accounts,
    audit_log: () => [],
    last_reads: () => [],
    refresh_account: () => accounts[0],
    configure_provider: (args) => {
      const settings = args.settings as ProviderSettings;
      const i = list.findIndex((p) => p.id === settings.provider_id);
      const old = list[i]!;
      const updated: ProviderView = {
        ...old,
        configured: true,
        client_id: settings.client_id,
        setup: old.setup && {
          ...old.setup,
          params: old.setup.params.map((p) => ({ ...p, value: settings.params[p.name] ?? null })),
        },
      };
      list[i] = updated;
      return updated;
    },
  });
}

function standard(): ProviderView[] {
  return [
    builtin("github", { configured: true, client_id: "gh-client" }),
    builtin("gitlab"),
    builtin("microsoft"),
    provider(),
  ];
}


/** Opens the first account's page (scopes and their descriptions are shown there). */
function openFirstAccount(): HTMLElement {
  click(byTestId("account-open"));
  const page = byTestId("account-page");
  if (!page) throw new Error("no account page");
  return page;
}

function rowOf(testId: "provider-row" | "provider-setup-row", id: string): HTMLElement {
  const r = allByTestId(testId).find((el) => el.dataset.providerId === id);
  if (!r) throw new Error(`no ${testId} for ${id}`);
  return r;
}
const configuredRow = (id: string) => rowOf("provider-row", id);
const setupRowOf = (id: string) => rowOf("provider-setup-row", id);

function input(scope: ParentNode, name: string): HTMLInputElement {
  const el = scope.querySelector<HTMLInputElement>(`input[name="${name}"]`);
  if (!el) throw new Error(`no input ${name}`);
  return el;
}

function type(el: HTMLInputElement, value: string): void {
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

function openSetup(id: string): HTMLElement {
  const row = setupRowOf(id);
  click(byTestId("setup-toggle", row));
  const panel = byTestId("setup-panel", row)!;
  expect(panel.hidden).toBe(false);
  return panel;
}

describe("provider list", () => {
  it("lists set-up providers with Connect first, then the built-ins to set up without Connect", async () => {
    await boot(backendWith(standard()));
    expect(allByTestId("provider-row").map((r) => r.dataset.providerId)).toEqual(["github", "example"]);
    expect(allByTestId("provider-setup-row").map((r) => r.dataset.providerId)).toEqual(["gitlab", "microsoft"]);
    const group = byTestId("setup-providers")!;
    expect(group.querySelector("h3")?.textContent).toBe("Set up a provider");
    // The configured list comes before the setup group in the document.
    expect(byTestId("provider-list")!.compareDocumentPosition(group) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(allByTestId("connect", group)).toHaveLength(0);
    expect(allByTestId("connect").length).toBe(2);
    // Guides start folded.
    expect(allByTestId("setup-panel", group).every((p) => p.hidden)).toBe(true);
  });

  it("shows bundled logos for built-ins and a lettermark for providers added by URL", async () => {
    await boot(backendWith([...standard(), provider({ id: "github-clone", name: "github clone", builtin: false })]));
    const gh = byTestId("provider-logo", configuredRow("github"))!;
    expect(gh.localName).toBe("svg");
    expect(gh.getAttribute("data-logo")).toBe("github");
    expect(gh.getAttribute("aria-hidden")).toBe("true");
    expect(byTestId("provider-logo", setupRowOf("microsoft"))?.getAttribute("data-logo")).toBe("microsoft");

    const custom = byTestId("provider-logo", configuredRow("example"))!;
    expect(custom.tagName).toBe("SPAN");
    expect(custom.textContent).toBe("E");
    expect(custom.getAttribute("aria-hidden")).toBe("true");
    // A custom provider never borrows a built-in's logo.
    expect(byTestId("provider-logo", configuredRow("github-clone"))?.textContent).toBe("G");
  });

  it("says of a provider added by URL whether the app registered itself and where it signs in", async () => {
    await boot(
      backendWith([
        provider({ id: "plain" }),
        provider({
          id: "reg",
          name: "Reg",
          registered: true,
          redirect_uris: ["http://127.0.0.1:28001/callback", "io.github.connectedaccounts:/oauth/callback"],
        }),
      ]),
    );
    expect(byTestId("provider-registration", configuredRow("plain"))).toBeNull();
    expect(byTestId("provider-registration", configuredRow("reg"))?.textContent).toBe(
      "The app registered itself here; the registration goes with the last account. Signs in through http://127.0.0.1:28001/callback.",
    );
  });

  it("says what to do when no provider is set up yet", async () => {
    await boot(backendWith([builtin("gitlab"), builtin("microsoft")]));
    expect(byTestId("providers-empty")?.textContent).toContain("No provider is set up yet");
    expect(byTestId("empty-next")?.textContent).toBe(
      "No account yet: set up a provider once, then connect as many accounts as you like.",
    );
    expect(byTestId("empty-set-up")?.textContent).toBe("Set up a provider");
    expect(allByTestId("provider-setup-row")).toHaveLength(2);
  });

  it("shows a compact capability line and the no-revocation hint", async () => {
    await boot(backendWith(standard()));
    expect(byTestId("provider-capabilities", configuredRow("example"))?.textContent).toBe(
      "OpenID Connect · PKCE · refresh tokens (rotating) · revoke: RFC 7009",
    );
    expect(byTestId("provider-capabilities", configuredRow("github"))?.textContent).toBe(
      "PKCE · client secret required · no refresh tokens · revoke: GitHub API · device sign-in",
    );
    expect(byTestId("provider-capabilities", configuredRow("github"))?.getAttribute("title")).toContain(
      "X-OAuth-Scopes header",
    );
    expect(byTestId("provider-capabilities", setupRowOf("gitlab"))?.textContent).toBe(
      "PKCE · refresh tokens (rotating) · revoke: RFC 7009 · device sign-in",
    );
    expect(byTestId("revocation-hint", configuredRow("example"))).toBeNull();
    expect(byTestId("revocation-hint", setupRowOf("gitlab"))).toBeNull();
    expect(byTestId("revocation-hint", setupRowOf("microsoft"))?.textContent).toBe(
      "this provider cannot revoke; disconnecting only forgets the account here",
    );
  });

  it("a configured provider that cannot revoke shows the hint in its row", async () => {
    await boot(backendWith([builtin("microsoft", { configured: true, client_id: "ms" })]));
    expect(byTestId("revocation-hint", configuredRow("microsoft"))?.textContent).toBe(
      "this provider cannot revoke; disconnecting only forgets the account here",
    );
  });
});

describe("setting up a built-in provider", () => {
  it("shows the instructions, the register URL and the redirect URIs exactly as given", async () => {
    const uris = ["http://localhost/callback", "io.github.connectedaccounts:/oauth/callback"];
    await boot(backendWith(standard()));
    const panel = openSetup("microsoft");
    expect(byTestId("setup-toggle", setupRowOf("microsoft"))?.getAttribute("aria-expanded")).toBe("true");
    expect(byTestId("setup-instructions", panel)?.textContent).toBe(
      'Create a new app registration and add the platform "Mobile and desktop applications".',
    );
    expect(byTestId("setup-register-url", panel)?.textContent).toBe(
      "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade",
    );
    expect(allByTestId("setup-redirect-uri", panel).map((e) => e.textContent)).toEqual(uris);
    expect(allByTestId("setup-redirect-uri-copy", panel)).toHaveLength(2);
    // Nothing in the guide is a link the webview would try to open.
    expect(panel.querySelector("a")).toBeNull();
  });

  it("sends client ID and parameters with a null secret when the provider takes none", async () => {
    const backend = backendWith(standard());
    await boot(backend);
    const panel = openSetup("gitlab");
    const form = byTestId("setup-form", panel)!;
    expect(form.querySelector('input[name="client_secret"]')).toBeNull();
    const base = input(form, "param-base");
    expect(base.placeholder).toBe("https://gitlab.com");
    expect(form.textContent).toContain("For a self-managed instance, its address");

    type(input(form, "client_id"), "  gl-app-id ");
    type(base, " https://gitlab.example.com ");
    click(byTestId("setup-save", panel));

    await vi.waitFor(() => expect(allByTestId("provider-row").map((r) => r.dataset.providerId)).toContain("gitlab"));
    expect(backend.callsOf("configure_provider")).toEqual([
      {
        settings: { provider_id: "gitlab", client_id: "gl-app-id", params: { base: "https://gitlab.example.com" } },
        clientSecret: null,
      },
    ]);
    // The provider moved to the configured list, with Connect focused and a notice.
    expect(allByTestId("provider-setup-row").map((r) => r.dataset.providerId)).toEqual(["microsoft"]);
    expect(document.activeElement).toBe(byTestId("connect", configuredRow("gitlab")));
    expect(byTestId("notice")?.textContent).toContain("GitLab is set up. Press Connect to sign in with it.");
  });

  it("leaves blank parameters out so the provider's default applies", async () => {
    const backend = backendWith(standard());
    await boot(backend);
    const panel = openSetup("microsoft");
    const tenant = input(panel, "param-tenant");
    expect(tenant.placeholder).toBe("common");
    expect(panel.textContent).toContain("common, organizations, consumers or a tenant ID");
    type(input(panel, "client_id"), "ms-app");
    click(byTestId("setup-save", panel));
    await vi.waitFor(() => expect(backend.callsOf("configure_provider")).toHaveLength(1));
    expect(backend.callsOf("configure_provider")[0]).toEqual({
      settings: { provider_id: "microsoft", client_id: "ms-app", params: {} },
      clientSecret: null,
    });
  });

  it("asks for the client secret when the provider requires it and sends it", async () => {
    const backend = backendWith([builtin("github"), provider()]);
    await boot(backend);
    const panel = openSetup("github");
    const secret = input(panel, "client_secret");
    expect(secret.type).toBe("password");
    expect(panel.textContent).toContain("it is stored in your system keychain, not in a file");

    type(input(panel, "client_id"), "Iv1.abc");
    click(byTestId("setup-save", panel));
    const problem = byTestId("setup-error", panel)!;
    expect(problem.hidden).toBe(false);
    expect(problem.textContent).toContain("client secret");
    expect(backend.callsOf("configure_provider")).toHaveLength(0);

    type(secret, "s3cret");
    click(byTestId("setup-save", panel));
    await vi.waitFor(() => expect(backend.callsOf("configure_provider")).toHaveLength(1));
    expect(backend.callsOf("configure_provider")[0]).toEqual({
      settings: { provider_id: "github", client_id: "Iv1.abc", params: {} },
      clientSecret: "s3cret",
    });
  });

  it("checks for a client ID before calling the backend", async () => {
    const backend = backendWith(standard());
    await boot(backend);
    const panel = openSetup("gitlab");
    type(input(panel, "client_id"), "   ");
    click(byTestId("setup-save", panel));
    expect(byTestId("setup-error", panel)?.textContent).toBe("Enter the client ID GitLab shows for your app.");
    expect(backend.callsOf("configure_provider")).toHaveLength(0);
  });

  it("shows a rejected setup in the error banner and keeps the form", async () => {
    const answer = deferred<ProviderView>();
    const backend = backendWith(standard()).on("configure_provider", () => answer.promise);
    await boot(backend);
    const panel = openSetup("gitlab");
    type(input(panel, "client_id"), "gl");
    type(input(panel, "param-base"), "http://gitlab.internal");
    const save = byTestId("setup-save", panel) as HTMLButtonElement;
    click(save);
    await vi.waitFor(() => expect(save.disabled).toBe(true));
    expect(save.textContent).toBe("Saving…");

    answer.reject(uiError("invalid_input", "GitLab URL must use https", "use the https:// address of your instance"));
    await vi.waitFor(() => expect(byTestId("error-message")?.textContent).toBe("GitLab URL must use https"));
    expect(byTestId("error-hint")?.textContent).toBe("use the https:// address of your instance");
    expect(save.disabled).toBe(false);
    expect(save.textContent).toBe("Save");
    expect(setupRowOf("gitlab").contains(panel)).toBe(true);
    expect(panel.hidden).toBe(false);
    expect(input(panel, "param-base").value).toBe("http://gitlab.internal");
  });

  it("keeps an open guide and what was typed (but not the secret) across a re-render", async () => {
    const backend = backendWith([builtin("github"), builtin("gitlab"), provider()]);
    await boot(backend);
    const gh = openSetup("github");
    type(input(gh, "client_id"), "typed-id");
    type(input(gh, "client_secret"), "typed-secret");
    // Setting up another provider re-renders the list.
    const gl = openSetup("gitlab");
    type(input(gl, "client_id"), "gl");
    click(byTestId("setup-save", gl));
    await vi.waitFor(() => expect(allByTestId("provider-setup-row")).toHaveLength(1));

    const again = byTestId("setup-panel", setupRowOf("github"))!;
    expect(again).not.toBe(gh);
    expect(again.hidden).toBe(false);
    expect(input(again, "client_id").value).toBe("typed-id");
    expect(input(again, "client_secret").value).toBe("");
  });

  it("Cancel folds the guide and forgets what was typed", async () => {
    await boot(backendWith(standard()));
    const panel = openSetup("gitlab");
    type(input(panel, "client_id"), "oops");
    click(byTestId("setup-cancel", panel));
    expect(panel.hidden).toBe(true);
    expect(document.activeElement).toBe(byTestId("setup-toggle", setupRowOf("gitlab")));
    expect(input(panel, "client_id").value).toBe("");
  });

  it("copies a redirect URI with the clipboard API", async () => {
    const writeText = vi.fn<(text: string) => Promise<void>>(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    try {
      await boot(backendWith(standard()));
      const panel = openSetup("gitlab");
      const row = byTestId("setup-redirect-uri", panel)!.parentElement!;
      click(byTestId("setup-redirect-uri-copy", row));
      await vi.waitFor(() => expect(row.textContent).toContain("Copied"));
      expect(writeText).toHaveBeenCalledWith("http://127.0.0.1/callback");
    } finally {
      Reflect.deleteProperty(navigator, "clipboard");
    }
  });

  it("selects the text when there is no clipboard API", async () => {
    await boot(backendWith(standard()));
    const panel = openSetup("gitlab");
    const row = byTestId("setup-register-url", panel)!.parentElement!;
    click(byTestId("setup-register-url-copy", row));
    await vi.waitFor(() => expect(row.textContent).toContain("press Ctrl+C"));
    expect(window.getSelection()?.toString()).toBe("https://gitlab.com/-/user_settings/applications");
  });
});

describe("settings of a configured built-in provider", () => {
  it("has a Settings toggle only on built-ins, prefilled with the current values", async () => {
    const backend = backendWith([
      builtin("gitlab", {
        configured: true,
        client_id: "gl-old",
        setup: { ...builtin("gitlab").setup!, params: [{ ...builtin("gitlab").setup!.params[0]!, value: "https://git.corp" }] },
      }),
      provider(),
    ]);
    await boot(backend);
    expect(byTestId("settings-toggle", configuredRow("example"))).toBeNull();
    const row = configuredRow("gitlab");
    const panel = byTestId("setup-panel", row)!;
    expect(panel.hidden).toBe(true);
    click(byTestId("settings-toggle", row));
    expect(panel.hidden).toBe(false);
    expect(input(panel, "client_id").value).toBe("gl-old");
    expect(input(panel, "param-base").value).toBe("https://git.corp");

    type(input(panel, "client_id"), "gl-new");
    type(input(panel, "param-base"), "");
    click(byTestId("setup-save", panel));
    await vi.waitFor(() => expect(backend.callsOf("configure_provider")).toHaveLength(1));
    expect(backend.callsOf("configure_provider")[0]).toEqual({
      settings: { provider_id: "gitlab", client_id: "gl-new", params: {} },
      clientSecret: null,
    });
    await vi.waitFor(() => expect(byTestId("notice")?.textContent).toContain("Saved the settings of GitLab."));
    expect(byTestId("setup-panel", configuredRow("gitlab"))?.hidden).toBe(true);
    expect(document.activeElement).toBe(byTestId("settings-toggle", configuredRow("gitlab")));
  });

  it("keeps the stored secret when the secret field is left blank", async () => {
    const backend = backendWith([builtin("github", { configured: true, client_id: "gh" })]);
    await boot(backend);
    const row = configuredRow("github");
    click(byTestId("settings-toggle", row));
    const panel = byTestId("setup-panel", row)!;
    expect(input(panel, "client_secret").placeholder).toBe("leave blank to keep the stored secret");
    click(byTestId("setup-save", panel));
    await vi.waitFor(() => expect(backend.callsOf("configure_provider")).toHaveLength(1));
    expect(backend.callsOf("configure_provider")[0]).toEqual({
      settings: { provider_id: "github", client_id: "gh", params: {} },
      clientSecret: null,
    });
  });
});

describe("scope descriptions", () => {
  it("gives provider scope chips the description as their title", async () => {
    await boot(backendWith(standard()));
    const chips = allByTestId("provider-scope", configuredRow("github"));
    expect(chips.map((c) => [c.textContent, c.getAttribute("title")])).toEqual([
      ["read:user", "Read your profile information"],
      ["user:email", "See your email addresses"],
    ]);
    // Unconfigured providers show theirs inside the guide.
    const panel = openSetup("microsoft");
    expect(allByTestId("provider-scope", panel).map((c) => c.getAttribute("title"))).toEqual([
      "Sign you in",
      "Stay connected when you are not using the app",
      "Sign you in and read your profile",
    ]);
  });

  it("titles granted and missing chips on account rows and lists what the account can do", async () => {
    const accounts = [
      account({
        id: "gh-1",
        provider: "github",
        provider_name: "GitHub",
        scopes_requested: ["read:user", "repo", "gist"],
        scopes_granted: ["read:user", "user:email", "admin:everything"],
      }),
    ];
    await boot(backendWith(standard(), accounts));
    const row = openFirstAccount();
    const granted = allByTestId("scope-granted", row);
    expect(granted.map((c) => [c.textContent, c.getAttribute("title")])).toEqual([
      ["read:user", "Read your profile information"],
      ["user:email", "See your email addresses"],
      ["admin:everything", null],
    ]);
    const missing = allByTestId("scope-missing", row);
    expect(missing.map((c) => [c.textContent, c.getAttribute("title")])).toEqual([
      ["repo", "requested but not granted: Full access to your public and private repositories"],
      ["gist", "requested but not granted"],
    ]);

    const details = byTestId("scope-details", row) as HTMLDetailsElement;
    expect(details.tagName).toBe("DETAILS");
    expect(details.open).toBe(false);
    expect(details.querySelector("summary")?.textContent).toBe("What this account can do");
    // Only granted scopes with a description; never the missing ones.
    const items = allByTestId("scope-description", row);
    expect(items.map((li) => [li.querySelector(".scope-name")?.textContent, li.querySelector(".scope-text")?.textContent])).toEqual([
      ["read:user", "Read your profile information"],
      ["user:email", "See your email addresses"],
    ]);
    expect(items.every((li) => details.contains(li))).toBe(true);
  });

  it("keeps the list unfolded across a re-render", async () => {
    const accounts = [account({ scopes_granted: ["openid", "email"] })];
    const backend = backendWith(standard(), accounts);
    await boot(backend);
    openFirstAccount();
    const details = byTestId("scope-details") as HTMLDetailsElement;
    details.open = true;
    details.dispatchEvent(new Event("toggle"));
    click(byTestId("refresh")); // re-renders the row while busy and again afterwards
    await vi.waitFor(() => expect(backend.callsOf("refresh_account")).toHaveLength(1));
    await vi.waitFor(() => expect(byTestId("account-page")?.dataset.busy).toBeUndefined());
    const now = byTestId("scope-details") as HTMLDetailsElement;
    expect(now).not.toBe(details);
    expect(now.open).toBe(true);
  });

  it("shows no list and no titles when the provider describes nothing (or is unknown)", async () => {
    const accounts = [account({ provider: "gone", scopes_granted: ["openid"], scopes_requested: ["openid"] })];
    await boot(backendWith(standard(), accounts));
    openFirstAccount();
    expect(byTestId("scope-granted")?.getAttribute("title")).toBeNull();
    expect(byTestId("scope-details")).toBeNull();
  });

  it("ignores scope names that are not own keys of the description map", async () => {
    const accounts = [account({ scopes_granted: ["constructor", "toString"], scopes_requested: [] })];
    await boot(backendWith(standard(), accounts));
    openFirstAccount();
    expect(allByTestId("scope-granted").map((c) => c.getAttribute("title"))).toEqual([null, null]);
    expect(byTestId("scope-details")).toBeNull();
  });
});
