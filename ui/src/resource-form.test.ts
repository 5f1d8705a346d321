// "Add by URL": an API's metadata is read first; an API on another site than its server is
// confirmed before anything is added or signed in; then the sign-in runs as any other.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Account, ConnectStarted, ProviderView, ResourcePlan } from "./bindings";
import { FakeBackend, account, deferred, provider, uiError } from "../test/fake-backend";
import { allByTestId, boot, byTestId, click, stopApp } from "../test/window";
import { resourceQuestion } from "./resource-form";

afterEach(stopApp);

const API = "https://api.example.com/mcp";

function plan(overrides: Partial<ResourcePlan["found"]> = {}, confirmed_before = false): ResourcePlan {
  return {
    found: {
      resource: API,
      authorization_server: "https://login.example.org",
      scopes: ["mcp:read"],
      name: "Example MCP",
      cross_origin: true,
      ...overrides,
    },
    provider: null,
    confirmed_before,
    scopes: ["openid", "mcp:read"],
  };
}

const started: ConnectStarted = {
  flow_id: "flow-r",
  provider: "login-example-org",
  browser_url: "http://127.0.0.1:41000/start/abc",
  redirect_uri: "http://127.0.0.1:28001/callback",
  timeout_secs: 300,
};

function backend(providers: () => ProviderView[], answer: () => ResourcePlan | Promise<ResourcePlan>): FakeBackend {
  return new FakeBackend({
    list_providers: providers,
    list_accounts: () => [],
    recover_interrupted: () => [],
    audit_log: () => [],
    last_reads: () => [],
    plan_resource: answer,
    connect_resource_begin: () => started,
  });
}

function enter(url: string): void {
  click(byTestId("resource-open"));
  (byTestId("resource-url") as HTMLInputElement).value = url;
  click(byTestId("resource-submit"));
}

describe("Add by URL", () => {
  it("asks before an API on another site receives a server's tokens, and adds nothing before the answer", async () => {
    const finish = deferred<Account>();
    let listed: ProviderView[] = [];
    const b = backend(() => listed, () => plan()).on("connect_finish", () => finish.promise);
    await boot(b);
    enter(` ${API} `);
    await vi.waitFor(() => expect(byTestId("resource-question")).not.toBeNull());
    expect(b.callsOf("plan_resource")).toEqual([{ url: API }]);
    expect(byTestId("resource-question")?.textContent).toContain(
      `${API} will receive tokens from https://login.example.org for the account you sign in with.`,
    );
    expect(b.callsOf("connect_resource_begin")).toHaveLength(0);

    click(byTestId("resource-confirm"));
    await vi.waitFor(() => expect(byTestId("flow-waiting")).not.toBeNull());
    expect(b.callsOf("connect_resource_begin")).toEqual([{ url: API, redirect: null, confirmed: true }]);
    expect(byTestId("resource-form")?.hidden).toBe(true);

    listed = [provider({ id: "login-example-org", name: "login.example.org", registered: true })];
    finish.resolve(account({ id: "r-1", provider: "login-example-org", resource: API }));
    await vi.waitFor(() => expect(allByTestId("provider-row").map((r) => r.dataset.providerId)).toContain("login-example-org"));
    // The account's page says what its tokens are for.
    await vi.waitFor(() => expect(byTestId("account-resource")?.textContent).toBe(`Tokens for ${API} only`));
  });

  it("declining starts nothing", async () => {
    const b = backend(() => [], () => plan());
    await boot(b);
    enter(API);
    await vi.waitFor(() => expect(byTestId("resource-decline")).not.toBeNull());
    click(byTestId("resource-decline"));
    expect(byTestId("resource-form")?.hidden).toBe(true);
    expect(b.callsOf("connect_resource_begin")).toHaveLength(0);
  });

  it("signs in straight away for an API on its server's own site, or one confirmed before", async () => {
    expect(resourceQuestion(plan({ cross_origin: false }))).toBeNull();
    expect(resourceQuestion(plan({}, true))).toBeNull();
    const b = backend(() => [], () => plan({ cross_origin: false })).on("connect_finish", () => new Promise(() => {}));
    await boot(b);
    enter(API);
    await vi.waitFor(() => expect(b.callsOf("connect_resource_begin")).toEqual([{ url: API, redirect: null, confirmed: false }]));
  });

  it("reports what the metadata check refused and leaves the form open", async () => {
    const b = backend(() => [], () => Promise.reject(uiError("provider", "the metadata is about another resource")));
    await boot(b);
    enter(API);
    await vi.waitFor(() => expect(document.body.textContent).toContain("the metadata is about another resource"));
    expect(byTestId("resource-form")?.hidden).toBe(false);
    expect(b.callsOf("connect_resource_begin")).toHaveLength(0);
  });

  it("wants a full address", async () => {
    const b = backend(() => [], () => plan());
    await boot(b);
    enter("api.example.com");
    expect(byTestId("resource-error")?.textContent).toBe("Enter the API's full address, like https://api.example.com/mcp.");
    expect(b.callsOf("plan_resource")).toHaveLength(0);
  });
});
