import { afterEach, describe, expect, it, vi } from "vitest";
import type { Account, AuditEvent, ConnectStarted } from "./bindings";
import { FakeBackend, account, builtin, provider } from "../test/fake-backend";
import { absoluteTime } from "./time";
import { allByTestId, boot as start, byTestId, click, stopApp } from "../test/window";

afterEach(stopApp);

const shownIds = () => allByTestId("account-item").map((r) => r.dataset.accountId);

function type(el: HTMLElement | null, value: string): void {
  if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement)) throw new Error("not a field");
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

function key(target: Element | null, k: string, init: KeyboardEventInit = {}): void {
  if (!target) throw new Error("no key target");
  target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, ...init }));
}

const three = (): Account[] => [
  account({ id: "a1", display_name: "Alice", email: "alice@example.org", provider: "github", provider_name: "GitHub" }),
  account({ id: "b2", display_name: "Bob", email: "bob@example.org", provider: "example", provider_name: "Example ID", status: "needs_reconnect" }),
  account({ id: "c3", display_name: "Carol", email: "carol@work.test", provider: "github", provider_name: "GitHub" }),
];

function audit(id: number, accountId: string, kind: string): AuditEvent {
  return { id, at: "2025-06-01T11:00:00Z", kind, account_id: accountId, provider_id: "github", detail: `${kind} ${accountId}`, consumer: null, count: 1, last_at: null };
}

async function boot(accounts: Account[] = three(), extra: (b: FakeBackend) => FakeBackend = (b) => b): Promise<FakeBackend> {
  const backend = extra(
    new FakeBackend({
      list_providers: () => [builtin("github", { configured: true, client_id: "gh", scopes: ["repo"] }), provider()],
      list_accounts: () => accounts,
      recover_interrupted: () => accounts,
      audit_log: () => [audit(1, "a1", "refreshed"), audit(2, "b2", "needs_reconnect"), audit(3, "a1", "tested")],
      last_reads: () => [],
      watch_accounts: () => null,
      watch_app: () => null,
      window_ready: () => null,
    }),
  );
  await start(backend);
  return backend;
}

describe("navigation", () => {
  it("shows one view at a time and marks its section in the sidebar", async () => {
    await boot();
    const visible = () => [...document.querySelectorAll<HTMLElement>(".view")].filter((v) => !v.hidden).map((v) => v.dataset.view);
    expect(visible()).toEqual(["accounts"]);
    for (const name of ["providers", "activity", "settings", "accounts"]) {
      click(byTestId(`nav-${name}`));
      expect(visible()).toEqual([name]);
      expect(byTestId(`nav-${name}`)?.getAttribute("aria-current")).toBe("page");
      expect(allByTestId("nav-accounts").concat(allByTestId("nav-settings")).filter((t) => t.hasAttribute("aria-current"))).toHaveLength(
        name === "accounts" || name === "settings" ? 1 : 0,
      );
    }
    // "Remove all my data" lives in Settings, not on the accounts list.
    expect(byTestId("forget-all")?.closest<HTMLElement>(".view")?.dataset.view).toBe("settings");
  });

  it("moves between sections with the arrow keys", async () => {
    await boot();
    byTestId("nav-accounts")?.focus();
    key(document.activeElement, "ArrowDown");
    expect(document.activeElement).toBe(byTestId("nav-providers"));
    key(document.activeElement, "ArrowUp");
    key(document.activeElement, "ArrowUp");
    expect(document.activeElement).toBe(byTestId("nav-settings"));
  });
});

describe("the accounts list", () => {
  it("finds accounts by name, e-mail or provider, and filters by provider and status", async () => {
    await boot();
    expect(shownIds()).toEqual(["a1", "b2", "c3"]);
    type(byTestId("account-search"), "work.test");
    expect(shownIds()).toEqual(["c3"]);
    type(byTestId("account-search"), "example id");
    expect(shownIds()).toEqual(["b2"]);
    type(byTestId("account-search"), "nobody");
    expect(shownIds()).toEqual([]);
    expect(byTestId("accounts-none-match")).not.toBeNull();
    type(byTestId("account-search"), "");
    type(byTestId("account-filter-provider"), "github");
    expect(shownIds()).toEqual(["a1", "c3"]);
    type(byTestId("account-filter-provider"), "");
    type(byTestId("account-filter-status"), "needs_reconnect");
    expect(shownIds()).toEqual(["b2"]);
  });

  it("moves with Up, Down, Home and End, and opens an account with its button", async () => {
    await boot();
    const rows = allByTestId("account-open");
    rows[0]?.focus();
    key(document.activeElement, "ArrowDown");
    expect(document.activeElement).toBe(rows[1]);
    key(document.activeElement, "End");
    expect(document.activeElement).toBe(rows[2]);
    key(document.activeElement, "ArrowDown");
    expect(document.activeElement).toBe(rows[2]);
    key(document.activeElement, "Home");
    expect(document.activeElement).toBe(rows[0]);
    expect(rows[1]?.textContent).toContain("Bob");
    expect(rows[1]?.textContent).toContain("needs reconnect");
    click(rows[1] ?? null);
    expect(document.body.dataset.view).toBe("account");
    expect(byTestId("account-page")?.dataset.accountId).toBe("b2");
    // Focus follows to the page's heading, and back to the row afterwards.
    expect(document.activeElement?.textContent).toBe("Bob");
    click(byTestId("account-back"));
    expect(document.body.dataset.view).toBe("accounts");
    expect(document.activeElement).toBe(allByTestId("account-open")[1]);
  });

  it("searches on / and Ctrl+F from anywhere but a text field", async () => {
    await boot();
    click(byTestId("nav-settings"));
    key(document.body.querySelector("#app"), "/");
    expect(document.body.dataset.view).toBe("accounts");
    expect(document.activeElement).toBe(byTestId("account-search"));
    click(byTestId("nav-providers"));
    key(byTestId("nav-providers"), "f", { ctrlKey: true });
    expect(document.activeElement).toBe(byTestId("account-search"));
  });
});

describe("an account's page", () => {
  it("says what Disconnect does at the provider before the click", async () => {
    await boot();
    click(byTestId("account-open"));
    expect(byTestId("disconnect-effect")?.textContent).toBe("Disconnect revokes this account’s tokens at GitHub, then forgets it here.");
  });

  it("says when the sign-in ends, and that an idle one is kept alive", async () => {
    await boot([
      account({ id: "a1", sign_in_ends_at: "2027-03-03T12:00:00Z", idle_ends_at: "2027-06-01T12:00:00Z" }),
      account({ id: "b2", display_name: "Bob" }),
    ]);
    click(allByTestId("account-open")[0] ?? null);
    const facts = byTestId("account-lifetimes")?.textContent ?? "";
    expect(facts).toContain(`Sign-in lasts until${absoluteTime("2027-03-03T12:00:00Z")}`);
    expect(facts).toContain("If unused");
    expect(facts).toContain("refreshes it long before");
    click(byTestId("account-back"));
    click(allByTestId("account-open")[1] ?? null);
    const other = byTestId("account-lifetimes")?.textContent ?? "";
    expect(other).toContain("no end given by the server or its settings");
    expect(other).not.toContain("If unused");
  });

  it("changes scopes with a new sign-in for the scopes typed", async () => {
    const started: ConnectStarted = { flow_id: "f1", provider: "github", browser_url: "http://127.0.0.1:1/s", redirect_uri: "http://127.0.0.1:2/callback", timeout_secs: 300 };
    const backend = await boot(three(), (b) => b.on("connect_begin", () => started).on("connect_finish", () => new Promise(() => {})));
    click(byTestId("account-open"));
    click(byTestId("change-scopes"));
    const field = byTestId("change-scopes-field") as HTMLInputElement;
    expect(field.value).toBe("openid email"); // what it asked for last time
    expect(document.activeElement).toBe(field);
    type(field, "read:user repo");
    (byTestId("change-scopes-form") as HTMLFormElement).requestSubmit();
    await vi.waitFor(() => expect(byTestId("flow-waiting")).not.toBeNull());
    // The account is named, so the server is told whom to expect (login_hint).
    expect(backend.callsOf("connect_begin")).toEqual([{ providerId: "github", scopes: ["read:user", "repo"], redirect: null, account: "a1" }]);
  });

  it("folds the scope field away on Escape and keeps the sign-in untouched", async () => {
    const backend = await boot();
    click(byTestId("account-open"));
    click(byTestId("change-scopes"));
    key(byTestId("change-scopes-field"), "Escape");
    expect(byTestId("change-scopes-form")).toBeNull();
    expect(document.activeElement).toBe(byTestId("change-scopes"));
    expect(backend.callsOf("connect_begin")).toEqual([]);
  });

  it("opens the activity of that account only", async () => {
    await boot();
    click(byTestId("account-open"));
    expect(byTestId("account-never-read")).not.toBeNull();
    click(byTestId("account-activity"));
    expect(document.body.dataset.view).toBe("activity");
    expect((byTestId("activity-filter-account") as HTMLSelectElement).value).toBe("a1");
    expect(allByTestId("audit-entry").map((e) => e.dataset.kind)).toEqual(["refreshed", "tested"]);
    type(byTestId("activity-filter-text"), "test");
    expect(allByTestId("audit-entry").map((e) => e.dataset.kind)).toEqual(["tested"]);
  });

  it("goes back to the list when its account is disconnected elsewhere", async () => {
    let accounts = three();
    const backend = await boot(accounts, (b) => b.on("list_accounts", () => accounts).on("refresh_account", () => {
      accounts = accounts.slice(1);
      throw { code: "not_found", message: "no such account", hint: null, remedy: null };
    }));
    click(byTestId("account-open"));
    click(byTestId("refresh"));
    await vi.waitFor(() => expect(document.body.dataset.view).toBe("accounts"));
    expect(shownIds()).toEqual(["b2", "c3"]);
    expect(backend.callsOf("refresh_account")).toHaveLength(1);
  });
});

describe("remedies", () => {
  it("turn into the banner's button that applies them", async () => {
    const started: ConnectStarted = { flow_id: "f1", provider: "github", browser_url: "http://127.0.0.1:1/s", redirect_uri: "http://127.0.0.1:2/callback", timeout_secs: 300 };
    const backend = await boot(three(), (b) =>
      b
        .on("refresh_account", () => {
          throw { code: "needs_reconnect", message: "GitHub ended this sign-in.", hint: null, remedy: { kind: "reconnect", account: "a1", provider: "github" } };
        })
        .on("connect_begin", () => started)
        .on("connect_finish", () => new Promise(() => {})),
    );
    click(byTestId("account-open"));
    click(byTestId("refresh"));
    await vi.waitFor(() => expect(byTestId("error-remedy")?.textContent).toBe("Connect again"));
    click(byTestId("error-remedy"));
    expect(byTestId("error-banner")).toBeNull();
    await vi.waitFor(() => expect(backend.callsOf("connect_begin")).toHaveLength(1));
    expect(backend.callsOf("connect_begin")[0]).toMatchObject({ providerId: "github" });
  });

  it("open the setup of the provider that needs it", async () => {
    await boot(three(), (b) =>
      b.on("list_providers", () => [builtin("github", { configured: true, client_id: "gh" }), builtin("gitlab"), provider()]).on("connect_begin", () => {
        throw { code: "not_configured", message: "GitLab is not set up.", hint: null, remedy: { kind: "configure_provider", provider: "gitlab", client_secret: false } };
      }),
    );
    click(byTestId("nav-providers"));
    const github = allByTestId("provider-row").find((r) => r.dataset.providerId === "github");
    click(byTestId("connect", github));
    await vi.waitFor(() => expect(byTestId("error-remedy")?.textContent).toBe("Set up the provider"));
    click(byTestId("nav-accounts"));
    click(byTestId("error-remedy"));
    expect(document.body.dataset.view).toBe("providers");
    const gitlab = allByTestId("provider-setup-row").find((r) => r.dataset.providerId === "gitlab");
    const panel = byTestId("setup-panel", gitlab);
    expect(panel?.hidden).toBe(false);
    expect(panel?.contains(document.activeElement)).toBe(true);
  });

  it("show no button for what the window cannot do", async () => {
    const backend = await boot(three(), (b) =>
      b.on("list_providers", () => [builtin("github", { configured: true, client_id: "gh" }), builtin("gitlab"), provider()]).on("test_account", () => {
        throw { code: "keychain_locked", message: "The keychain is locked.", hint: null, remedy: { kind: "unlock_keychain" } };
      }),
    );
    click(byTestId("account-open"));
    click(byTestId("test"));
    await vi.waitFor(() => expect(byTestId("error-banner")).not.toBeNull());
    expect(byTestId("error-remedy")).toBeNull();
    expect(byTestId("error-hint")?.textContent).toContain("Unlock your keychain");
    expect(backend.callsOf("test_account")).toHaveLength(1);
  });
});
