// Choosing how to connect (loopback, app link, code on another device), the device sign-in
// panel, and the hand-entered endpoints of the "Add provider" form.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Account, ConnectKind, ConnectStarted, DeviceStarted, ProviderView } from "./bindings";
import { connectKinds, effectiveKind, redirectArg } from "./connect-kinds";
import { FakeBackend, account, builtin, deferred, provider, uiError } from "../test/fake-backend";
import { allByTestId, boot, byTestId, click, stopApp } from "../test/window";
import { readNewProvider } from "./provider-form";

afterEach(stopApp);

function providers(): ProviderView[] {
  return [
    // Offers all three, loopback first.
    builtin("github", { configured: true, client_id: "gh-client" }),
    // Prefers the app link.
    builtin("gitlab", {
      configured: true,
      client_id: "gl-client",
      capabilities: { ...builtin("gitlab").capabilities, redirect_kinds: ["custom_scheme", "loopback"] },
    }),
    // One way only: a code on another device.
    provider({
      id: "tv",
      name: "TV Login",
      capabilities: { ...provider().capabilities, redirect_kinds: ["device"], device_flow: true },
    }),
    // One way only: loopback.
    provider(),
  ];
}

function backendWith(accounts: Account[] = [account()], list: ProviderView[] = providers()): FakeBackend {
  return new FakeBackend({
    list_providers: () => list,
    list_accounts: () => accounts,
    recover_interrupted: () => accounts,
    audit_log: () => [],
    last_reads: () => [],
  });
}


function providerRowOf(id: string): HTMLElement {
  const r = allByTestId("provider-row").find((el) => el.dataset.providerId === id);
  if (!r) throw new Error(`no provider row ${id}`);
  return r;
}

function choose(providerId: string, value: string): void {
  const select = byTestId("connect-redirect", providerRowOf(providerId)) as HTMLSelectElement | null;
  if (!select) throw new Error(`no redirect select on ${providerId}`);
  select.value = value;
  select.dispatchEvent(new Event("change", { bubbles: true }));
}

const connectButtons = () => allByTestId("connect") as HTMLButtonElement[];

const browserStarted = (redirect_uri: string, provider = "github"): ConnectStarted => ({
  flow_id: "flow-9",
  provider,
  browser_url: "http://127.0.0.1:41000/start/abc",
  redirect_uri,
  timeout_secs: 300,
});

const deviceStarted: DeviceStarted = {
  flow_id: "dev-7",
  provider: "github",
  user_code: "WDJB-MJHT",
  verification_uri: "https://github.com/login/device",
  verification_uri_complete: "https://github.com/login/device?user_code=WDJB-MJHT",
  browser_url: "http://127.0.0.1:41001/start/def",
  expires_in_secs: 900,
  interval_secs: 5,
};

describe("connect kinds", () => {
  it("keeps the provider's order, drops unknown kinds and falls back to loopback", () => {
    expect(connectKinds(builtin("github"))).toEqual(["loopback", "custom_scheme", "device"]);
    const caps = provider().capabilities;
    expect(connectKinds(provider({ capabilities: { ...caps, redirect_kinds: ["carrier_pigeon" as unknown as ConnectKind, "device", "device"] } }))).toEqual([
      "device",
    ]);
    expect(connectKinds(provider({ capabilities: { ...caps, redirect_kinds: [] } }))).toEqual(["loopback"]);
    expect(connectKinds(undefined)).toEqual(["loopback"]);
  });

  it("uses the choice only while the provider still offers it, and sends null for the default", () => {
    expect(effectiveKind(["custom_scheme", "loopback"], undefined)).toBe("custom_scheme");
    expect(effectiveKind(["custom_scheme", "loopback"], "loopback")).toBe("loopback");
    expect(effectiveKind(["loopback"], "device")).toBe("loopback");
    expect(redirectArg(["loopback", "custom_scheme"], "loopback")).toBeNull();
    expect(redirectArg(["loopback", "custom_scheme"], "custom_scheme")).toBe("custom_scheme");
    expect(redirectArg(["custom_scheme", "loopback"], "loopback")).toBe("loopback");
  });
});

describe("the redirect select", () => {
  it("is shown only when a provider offers several ways, labelled, defaulting to the first", async () => {
    await boot(backendWith());
    const gh = byTestId("connect-redirect", providerRowOf("github")) as HTMLSelectElement;
    expect(gh.tagName).toBe("SELECT");
    expect([...gh.options].map((o) => [o.value, o.textContent])).toEqual([
      ["loopback", "Browser (loopback)"],
      ["custom_scheme", "Browser (app link)"],
      ["device", "Code on another device"],
    ]);
    expect(gh.value).toBe("loopback");
    expect((byTestId("connect-redirect", providerRowOf("gitlab")) as HTMLSelectElement).value).toBe("custom_scheme");
    expect(byTestId("connect-redirect", providerRowOf("example"))).toBeNull();
    expect(byTestId("connect-redirect", providerRowOf("tv"))).toBeNull();
  });

  it("sends redirect null when the default is left selected", async () => {
    const backend = backendWith()
      .on("connect_begin", () => browserStarted("http://127.0.0.1:49152/callback"))
      .on("connect_finish", () => new Promise(() => {}));
    await boot(backend);
    click(byTestId("connect", providerRowOf("github")));
    await vi.waitFor(() => expect(byTestId("flow-waiting")).not.toBeNull());
    expect(backend.callsOf("connect_begin")).toEqual([{ providerId: "github", scopes: null, redirect: null, account: null }]);
    expect(backend.callsOf("device_begin")).toHaveLength(0);
    expect(byTestId("flow-waiting")?.dataset.redirect).toBe("loopback");
    expect(byTestId("flow-app-link")).toBeNull();
  });

  it("sends custom_scheme when the app link is chosen and says the browser hands the sign-in back", async () => {
    const finish = deferred<Account>();
    const backend = backendWith()
      .on("connect_begin", () => browserStarted("io.github.connectedaccounts:/oauth/callback"))
      .on("connect_finish", () => finish.promise);
    await boot(backend);
    const row = providerRowOf("github");
    (byTestId("connect-scopes", row) as HTMLInputElement).value = "repo";
    choose("github", "custom_scheme");
    click(byTestId("connect", row));

    await vi.waitFor(() => expect(byTestId("flow-waiting")).not.toBeNull());
    expect(backend.callsOf("connect_begin")).toEqual([{ providerId: "github", scopes: ["repo"], redirect: "custom_scheme", account: null }]);
    expect(backend.callsOf("connect_finish")).toEqual([{ flowId: "flow-9" }]);
    const panel = byTestId("flow-waiting")!;
    expect(panel.dataset.redirect).toBe("custom_scheme");
    expect(byTestId("flow-app-link", panel)?.textContent).toContain("the browser hands the sign-in back to this app");
    expect(byTestId("flow-redirect-uri", panel)?.textContent).toBe("io.github.connectedaccounts:/oauth/callback");

    finish.resolve(account({ id: "gh-1", provider: "github", provider_name: "GitHub", display_name: "octocat" }));
    await vi.waitFor(() => expect(byTestId("flow-waiting")).toBeNull());
    expect(allByTestId("account-item").map((r) => r.dataset.accountId)).toContain("gh-1");
  });

  it("sends loopback when it is chosen over a provider's app-link default", async () => {
    const backend = backendWith()
      .on("connect_begin", () => browserStarted("http://127.0.0.1:49152/callback", "gitlab"))
      .on("connect_finish", () => new Promise(() => {}));
    await boot(backend);
    choose("gitlab", "loopback");
    click(byTestId("connect", providerRowOf("gitlab")));
    await vi.waitFor(() => expect(backend.callsOf("connect_begin")).toHaveLength(1));
    expect(backend.callsOf("connect_begin")[0]).toEqual({ providerId: "gitlab", scopes: null, redirect: "loopback", account: null });
  });

  it("keeps the choice across a re-render and uses it for Connect again", async () => {
    const backend = backendWith([
      account({ id: "gh-old", provider: "github", provider_name: "GitHub", status: "needs_reconnect", scopes_requested: ["repo"] }),
    ])
      .on("device_begin", () => deviceStarted)
      .on("device_finish", () => new Promise(() => {}))
      .on("add_provider", () => provider({ id: "keycloak", name: "Keycloak" }));
    await boot(backend);
    choose("github", "device");

    // Adding a provider rebuilds the provider list.
    click(byTestId("add-provider-open"));
    const form = byTestId("add-provider-form") as HTMLFormElement;
    (form.querySelector('input[name="issuer"]') as HTMLInputElement).value = "https://sso.example.org";
    (form.querySelector('input[name="client_id"]') as HTMLInputElement).value = "kc";
    click(byTestId("add-provider-submit"));
    await vi.waitFor(() => expect(allByTestId("provider-row").map((r) => r.dataset.providerId)).toContain("keycloak"));
    expect((byTestId("connect-redirect", providerRowOf("github")) as HTMLSelectElement).value).toBe("device");

    // "Connect again" on the account's page.
    click(byTestId("account-open"));
    click(byTestId("reconnect"));
    await vi.waitFor(() => expect(byTestId("device-waiting")).not.toBeNull());
    expect(backend.callsOf("device_begin")).toEqual([{ providerId: "github", scopes: ["repo"] }]);
    expect(backend.callsOf("connect_begin")).toHaveLength(0);
  });
});

describe("device sign-in", () => {
  it("calls device_begin then device_finish, shows the code, and Cancel calls connect_cancel quietly", async () => {
    const finish = deferred<Account>();
    const backend = backendWith()
      .on("device_begin", () => deviceStarted)
      .on("device_finish", () => finish.promise)
      .on("connect_cancel", () => {
        finish.reject(uiError("cancelled", "Sign-in was cancelled."));
        return null;
      });
    await boot(backend);
    const row = providerRowOf("github");
    (byTestId("connect-scopes", row) as HTMLInputElement).value = "read:user repo";
    choose("github", "device");
    click(byTestId("connect", row));

    await vi.waitFor(() => expect(byTestId("device-waiting")).not.toBeNull());
    expect(backend.callsOf("device_begin")).toEqual([{ providerId: "github", scopes: ["read:user", "repo"] }]);
    expect(backend.callsOf("device_finish")).toEqual([{ flowId: "dev-7" }]);
    expect(backend.commands().filter((c) => c.startsWith("device_") || c.startsWith("connect_"))).toEqual([
      "device_begin",
      "device_finish",
    ]);
    expect(byTestId("flow-waiting")).toBeNull();

    const panel = byTestId("device-waiting")!;
    expect(panel.textContent).toContain("Open https://github.com/login/device on any device and enter this code:");
    const code = byTestId("device-user-code", panel)!;
    expect(code.textContent).toBe("WDJB-MJHT");
    expect(code.classList.contains("device-code")).toBe(true);
    expect(byTestId("device-user-code-copy", panel)?.textContent).toBe("Copy");
    expect(byTestId("device-verification-uri", panel)?.textContent).toBe("https://github.com/login/device");
    expect(byTestId("device-countdown", panel)?.textContent).toBe("15:00");
    // Every Connect waits while the code is pending.
    expect(connectButtons().every((b) => b.disabled)).toBe(true);

    click(byTestId("cancel-device", panel));
    await vi.waitFor(() => expect(byTestId("device-waiting")).toBeNull());
    expect(backend.callsOf("connect_cancel")).toEqual([{ flowId: "dev-7" }]);
    expect(byTestId("error-banner")).toBeNull();
    expect(connectButtons().every((b) => !b.disabled)).toBe(true);
  });

  it("adds the account when the code is entered", async () => {
    const finish = deferred<Account>();
    const backend = backendWith().on("device_begin", () => ({ ...deviceStarted, provider: "tv" })).on("device_finish", () => finish.promise);
    await boot(backend);
    // The only way this provider offers: Connect goes straight to the device sign-in.
    click(byTestId("connect", providerRowOf("tv")));
    await vi.waitFor(() => expect(byTestId("device-waiting")).not.toBeNull());
    expect(backend.callsOf("device_begin")).toEqual([{ providerId: "tv", scopes: null }]);
    expect(byTestId("device-waiting")?.textContent).toContain("TV Login");

    finish.resolve(account({ id: "tv-1", provider: "tv", provider_name: "TV Login", display_name: "Living room" }));
    await vi.waitFor(() => expect(byTestId("device-waiting")).toBeNull());
    const row = allByTestId("account-item").find((r) => r.dataset.accountId === "tv-1")!;
    expect(byTestId("account-name", row)?.textContent).toBe("Living room");
    expect(row.dataset.highlight).toBe("true");
    expect(byTestId("account-page")?.dataset.accountId).toBe("tv-1");
    expect(byTestId("error-banner")).toBeNull();
    expect(connectButtons().every((b) => !b.disabled)).toBe(true);
  });

  it("shows the banner when the code expires or the user declines", async () => {
    const backend = backendWith()
      .on("device_begin", () => deviceStarted)
      .on("device_finish", () => {
        throw uiError("expired_token", "The code expired before it was entered.", "Press Connect to get a new code.");
      });
    await boot(backend);
    choose("github", "device");
    click(byTestId("connect", providerRowOf("github")));
    await vi.waitFor(() => expect(byTestId("error-banner")).not.toBeNull());
    expect(byTestId("error-message")?.textContent).toBe("The code expired before it was entered.");
    expect(byTestId("error-hint")?.textContent).toBe("Press Connect to get a new code.");
    expect(byTestId("device-waiting")).toBeNull();
  });

  it("shows the banner when the device sign-in cannot start", async () => {
    const backend = backendWith().on("device_begin", () => {
      throw uiError("unsupported", "GitHub device sign-in is not enabled for this app.", null);
    });
    await boot(backend);
    choose("github", "device");
    click(byTestId("connect", providerRowOf("github")));
    await vi.waitFor(() => expect(byTestId("error-message")?.textContent).toBe("GitHub device sign-in is not enabled for this app."));
    expect(backend.callsOf("device_finish")).toHaveLength(0);
    expect(byTestId("device-waiting")).toBeNull();
    expect(connectButtons().every((b) => !b.disabled)).toBe(true);
  });

  it("starts no second flow while the code is pending", async () => {
    const backend = backendWith()
      .on("device_begin", () => deviceStarted)
      .on("device_finish", () => new Promise(() => {}))
      .on("connect_begin", () => browserStarted("http://127.0.0.1:1/callback", "example"));
    await boot(backend);
    choose("github", "device");
    click(byTestId("connect", providerRowOf("github")));
    await vi.waitFor(() => expect(byTestId("device-waiting")).not.toBeNull());
    const other = byTestId("connect", providerRowOf("example")) as HTMLButtonElement;
    expect(other.disabled).toBe(true);
    // Even a forced Enter in the scopes field does nothing.
    byTestId("connect-scopes", providerRowOf("example"))!.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await Promise.resolve();
    expect(backend.callsOf("connect_begin")).toHaveLength(0);
    expect(backend.callsOf("device_begin")).toHaveLength(1);
  });

  it("copies the code with the clipboard API", async () => {
    const writeText = vi.fn<(text: string) => Promise<void>>(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    try {
      const backend = backendWith().on("device_begin", () => deviceStarted).on("device_finish", () => new Promise(() => {}));
      await boot(backend);
      choose("github", "device");
      click(byTestId("connect", providerRowOf("github")));
      await vi.waitFor(() => expect(byTestId("device-waiting")).not.toBeNull());
      click(byTestId("device-user-code-copy"));
      await vi.waitFor(() => expect(writeText).toHaveBeenCalledWith("WDJB-MJHT"));
      click(byTestId("device-verification-uri-copy"));
      await vi.waitFor(() => expect(writeText).toHaveBeenCalledWith("https://github.com/login/device"));
    } finally {
      Reflect.deleteProperty(navigator, "clipboard");
    }
  });

  it("renders a hostile code and address as text", async () => {
    const backend = backendWith()
      .on("device_begin", () => ({ ...deviceStarted, user_code: "<b>X</b>", verification_uri: '<img src=x onerror="1">' }))
      .on("device_finish", () => new Promise(() => {}));
    await boot(backend);
    choose("github", "device");
    click(byTestId("connect", providerRowOf("github")));
    await vi.waitFor(() => expect(byTestId("device-waiting")).not.toBeNull());
    const panel = byTestId("device-waiting")!;
    expect(byTestId("device-user-code", panel)?.textContent).toBe("<b>X</b>");
    expect(panel.querySelector("b, img")).toBeNull();
  });
});

describe("hand-entered endpoints in Add provider", () => {
  function form(fields: Record<string, string>): FormData {
    const data = new FormData();
    for (const [k, v] of Object.entries(fields)) data.set(k, v);
    return data;
  }

  it("turns blank endpoints into null and trims filled ones", () => {
    expect(readNewProvider(form({ issuer: "https://id.example.com", client_id: "c", userinfo_endpoint: "  ", revocation_endpoint: "" }))).toEqual({
      issuer: "https://id.example.com",
      client_id: "c",
      redirect_uris: [],
      name: null,
      scopes: [],
      userinfo_endpoint: null,
      revocation_endpoint: null,
    });
    expect(
      readNewProvider(
        form({ issuer: "https://id.example.com", client_id: "c", userinfo_endpoint: " https://id.example.com/me ", revocation_endpoint: "https://id.example.com/revoke" }),
      ),
    ).toMatchObject({ userinfo_endpoint: "https://id.example.com/me", revocation_endpoint: "https://id.example.com/revoke" });
  });

  it("leaves the client ID empty for the app to register itself, and reads exact redirect URIs", () => {
    expect(
      readNewProvider(
        form({
          issuer: "https://id.example.com",
          client_id: " ",
          redirect_uris: " http://127.0.0.1:8765/callback\n io.github.connectedaccounts:/oauth/callback ",
        }),
      ),
    ).toMatchObject({
      client_id: "",
      redirect_uris: ["http://127.0.0.1:8765/callback", "io.github.connectedaccounts:/oauth/callback"],
    });
    for (const bad of ["http://127.0.0.1/callback", "https://127.0.0.1:8765/cb", "http://example.com:80/cb", "myapp:/cb"]) {
      const read = readNewProvider(form({ issuer: "https://id.example.com", redirect_uris: bad }));
      expect("problem" in read && read.problem.startsWith(`The redirect URI ${bad} must be`)).toBe(true);
      expect(read).toMatchObject({ advanced: true });
    }
  });

  it("refuses an endpoint that is not a URL", () => {
    expect(readNewProvider(form({ issuer: "https://id.example.com", client_id: "c", revocation_endpoint: "revoke" }))).toEqual({
      problem: "The revocation endpoint must be a full URL, like https://accounts.example.com/revoke.",
      advanced: true,
    });
  });

  it("sends them from the Advanced section of the form, with their help text", async () => {
    const backend = backendWith().on("add_provider", () => provider({ id: "keycloak", name: "Keycloak" }));
    await boot(backend);
    click(byTestId("add-provider-open"));
    const formEl = byTestId("add-provider-form") as HTMLFormElement;
    const advanced = byTestId("add-provider-advanced", formEl) as HTMLDetailsElement;
    expect(advanced.tagName).toBe("DETAILS");
    expect(advanced.open).toBe(false);
    expect(advanced.querySelector("summary")?.textContent).toBe("Advanced");
    const userinfo = advanced.querySelector<HTMLInputElement>('input[name="userinfo_endpoint"]')!;
    const revocation = advanced.querySelector<HTMLInputElement>('input[name="revocation_endpoint"]')!;
    expect(userinfo).not.toBeNull();
    expect(revocation).not.toBeNull();
    expect(advanced.textContent?.split("only if the provider's metadata does not list it")).toHaveLength(3);

    (formEl.querySelector('input[name="issuer"]') as HTMLInputElement).value = "https://sso.example.org";
    (formEl.querySelector('input[name="client_id"]') as HTMLInputElement).value = "kc";
    userinfo.value = "not a url";
    click(byTestId("add-provider-submit"));
    expect(byTestId("add-provider-error")?.textContent).toContain("The userinfo endpoint must be a full URL");
    expect(advanced.open).toBe(true);
    expect(backend.callsOf("add_provider")).toHaveLength(0);

    userinfo.value = " https://sso.example.org/userinfo ";
    click(byTestId("add-provider-submit"));
    await vi.waitFor(() => expect(backend.callsOf("add_provider")).toHaveLength(1));
    expect(backend.callsOf("add_provider")[0]).toEqual({
      provider: {
        issuer: "https://sso.example.org",
        client_id: "kc",
        redirect_uris: [],
        name: null,
        scopes: [],
        userinfo_endpoint: "https://sso.example.org/userinfo",
        revocation_endpoint: null,
      },
    });
    await vi.waitFor(() => expect(formEl.hidden).toBe(true));
    expect(userinfo.value).toBe("");
    expect(advanced.open).toBe(false);
  });
});
