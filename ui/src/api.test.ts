import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import * as api from "./api";
import type { Remedy } from "./bindings";
import { FakeBackend, account, provider, uiError } from "../test/fake-backend";

afterEach(() => clearMocks());

describe("api.ts sends each command with Tauri's camelCase argument keys", () => {
  const cases: Array<{
    name: string;
    call: () => Promise<unknown>;
    cmd: string;
    args: Record<string, unknown>;
  }> = [
    { name: "listProviders", call: () => api.listProviders(), cmd: "list_providers", args: {} },
    {
      name: "addProvider",
      call: () =>
        api.addProvider({
          issuer: "https://id.example.com",
          client_id: "c",
          redirect_uris: [],
          name: null,
          scopes: ["openid"],
          userinfo_endpoint: null,
          revocation_endpoint: null,
        }),
      cmd: "add_provider",
      args: {
        provider: {
          issuer: "https://id.example.com",
          client_id: "c",
          redirect_uris: [],
          name: null,
          scopes: ["openid"],
          userinfo_endpoint: null,
          revocation_endpoint: null,
        },
      },
    },
    {
      name: "addProvider (hand-entered endpoints)",
      call: () =>
        api.addProvider({
          issuer: "https://id.example.com",
          client_id: "c",
          redirect_uris: [],
          name: "Example",
          scopes: [],
          userinfo_endpoint: "https://id.example.com/me",
          revocation_endpoint: "https://id.example.com/revoke",
        }),
      cmd: "add_provider",
      args: {
        provider: {
          issuer: "https://id.example.com",
          client_id: "c",
          redirect_uris: [],
          name: "Example",
          scopes: [],
          userinfo_endpoint: "https://id.example.com/me",
          revocation_endpoint: "https://id.example.com/revoke",
        },
      },
    },
    {
      name: "configureProvider",
      call: () =>
        api.configureProvider({ provider_id: "gitlab", client_id: "c", params: { base: "https://gitlab.example.com" } }, "s"),
      cmd: "configure_provider",
      args: {
        settings: { provider_id: "gitlab", client_id: "c", params: { base: "https://gitlab.example.com" } },
        clientSecret: "s",
      },
    },
    {
      name: "configureProvider (no secret)",
      call: () => api.configureProvider({ provider_id: "microsoft", client_id: "c", params: {} }, null),
      cmd: "configure_provider",
      args: { settings: { provider_id: "microsoft", client_id: "c", params: {} }, clientSecret: null },
    },
    { name: "listAccounts", call: () => api.listAccounts(), cmd: "list_accounts", args: {} },
    {
      name: "planResource",
      call: () => api.planResource("https://api.example.com/mcp"),
      cmd: "plan_resource",
      args: { url: "https://api.example.com/mcp" },
    },
    {
      name: "connectResourceBegin",
      call: () => api.connectResourceBegin("https://api.example.com/mcp", null, true),
      cmd: "connect_resource_begin",
      args: { url: "https://api.example.com/mcp", redirect: null, confirmed: true },
    },
    {
      name: "connectBegin",
      call: () => api.connectBegin("github", ["repo", "read:user"], "custom_scheme"),
      cmd: "connect_begin",
      args: { providerId: "github", scopes: ["repo", "read:user"], redirect: "custom_scheme", account: null },
    },
    {
      name: "connectBegin (loopback)",
      call: () => api.connectBegin("github", null, "loopback"),
      cmd: "connect_begin",
      args: { providerId: "github", scopes: null, redirect: "loopback", account: null },
    },
    {
      name: "connectBegin (default scopes and redirect)",
      call: () => api.connectBegin("github", null, null),
      cmd: "connect_begin",
      args: { providerId: "github", scopes: null, redirect: null, account: null },
    },
    { name: "connectFinish", call: () => api.connectFinish("f-1"), cmd: "connect_finish", args: { flowId: "f-1" } },
    {
      name: "deviceBegin",
      call: () => api.deviceBegin("gitlab", ["read_user"]),
      cmd: "device_begin",
      args: { providerId: "gitlab", scopes: ["read_user"] },
    },
    {
      name: "deviceBegin (default scopes)",
      call: () => api.deviceBegin("gitlab", null),
      cmd: "device_begin",
      args: { providerId: "gitlab", scopes: null },
    },
    { name: "deviceFinish", call: () => api.deviceFinish("d-1"), cmd: "device_finish", args: { flowId: "d-1" } },
    { name: "connectCancel", call: () => api.connectCancel("f-1"), cmd: "connect_cancel", args: { flowId: "f-1" } },
    { name: "refreshAccount", call: () => api.refreshAccount("a-1"), cmd: "refresh_account", args: { accountId: "a-1" } },
    { name: "testAccount", call: () => api.testAccount("a-1"), cmd: "test_account", args: { accountId: "a-1" } },
    {
      name: "requestAccount",
      call: () => api.requestAccount("a-1", "https://api.example.test/x"),
      cmd: "request_account",
      args: { accountId: "a-1", url: "https://api.example.test/x" },
    },
    {
      name: "disconnectAccount",
      call: () => api.disconnectAccount("a-1", true),
      cmd: "disconnect_account",
      args: { accountId: "a-1", confirmed: true },
    },
    { name: "recoverInterrupted", call: () => api.recoverInterrupted(), cmd: "recover_interrupted", args: {} },
    { name: "auditLog", call: () => api.auditLog(50), cmd: "audit_log", args: { limit: 50 } },
    { name: "lastReads", call: () => api.lastReads(), cmd: "last_reads", args: {} },
    { name: "setPolicy", call: () => api.setPolicy("a-1", "ask"), cmd: "set_policy", args: { accountId: "a-1", policy: "ask" } },
    { name: "answerApproval", call: () => api.answerApproval("q-1", { kind: "session", minutes: 60 }), cmd: "answer_approval", args: { id: "q-1", choice: { kind: "session", minutes: 60 } } },
    { name: "listApprovals", call: () => api.listApprovals("a-1"), cmd: "list_approvals", args: { accountId: "a-1" } },
    { name: "endApproval", call: () => api.endApproval("g-1"), cmd: "end_approval", args: { id: "g-1" } },
    { name: "forgetAll", call: () => api.forgetAll(), cmd: "forget_all", args: {} },
    { name: "quitApp", call: () => api.quitApp(), cmd: "quit_app", args: {} },
    { name: "windowReady", call: () => api.windowReady(), cmd: "window_ready", args: {} },
    { name: "appSettings", call: () => api.appSettings(), cmd: "app_settings", args: {} },
    { name: "setCloseAction", call: () => api.setCloseAction("keep_running"), cmd: "set_close_action", args: { action: "keep_running" } },
    { name: "setRefreshPaused", call: () => api.setRefreshPaused(true), cmd: "set_refresh_paused", args: { paused: true } },
    { name: "setStartAtLogin", call: () => api.setStartAtLogin(true), cmd: "set_start_at_login", args: { on: true } },
    { name: "answerClose", call: () => api.answerClose(false), cmd: "answer_close", args: { keepRunning: false } },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const backend = new FakeBackend().on(c.cmd, () => null);
      mockIPC(backend.handle);
      await c.call();
      expect(backend.calls).toHaveLength(1);
      expect(backend.calls[0]?.cmd).toBe(c.cmd);
      // Exact keys: no snake_case leftovers, nothing extra.
      expect(backend.calls[0]?.args ?? {}).toEqual(c.args);
    });
  }

  it("watchAccounts hands the backend a channel whose messages reach the handler", async () => {
    const backend = new FakeBackend().on("watch_accounts", () => null);
    mockIPC(backend.handle);
    const seen: unknown[] = [];
    await api.watchAccounts((u) => seen.push(u));
    expect(backend.commands()).toEqual(["watch_accounts"]);
    const channel = backend.calls[0]?.args.onUpdate as { id: number };
    const update = { kind: "refreshed", account: account() };
    (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, d: unknown) => void } }).__TAURI_INTERNALS__.runCallback(
      channel.id,
      { index: 0, message: update },
    );
    expect(seen).toEqual([update]);
  });

  it("watchApp hands the backend a channel whose close question reaches the handler", async () => {
    const backend = new FakeBackend().on("watch_app", () => null);
    mockIPC(backend.handle);
    const seen: unknown[] = [];
    await api.watchApp((n) => seen.push(n));
    expect(backend.commands()).toEqual(["watch_app"]);
    const channel = backend.calls[0]?.args.onNotice as { id: number };
    (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, d: unknown) => void } }).__TAURI_INTERNALS__.runCallback(
      channel.id,
      { index: 0, message: { kind: "close_asked" } },
    );
    expect(seen).toEqual([{ kind: "close_asked" }]);
  });

  it("returns the backend's value untouched", async () => {
    const accounts = [account(), account({ id: "acc-2" })];
    const providers = [provider()];
    mockIPC(new FakeBackend({ list_accounts: () => accounts, list_providers: () => providers }).handle);
    await expect(api.listAccounts()).resolves.toEqual(accounts);
    await expect(api.listProviders()).resolves.toEqual(providers);
  });

  it("rejects with the backend's UiError object", async () => {
    const err = uiError("offline", "The provider could not be reached.", "Check your connection.");
    mockIPC(new FakeBackend({ refresh_account: () => { throw err; } }).handle);
    await expect(api.refreshAccount("a-1")).rejects.toEqual(err);
  });
});

describe("errorText", () => {
  it("keeps message and hint of a UiError", () => {
    expect(api.errorText(uiError("x", "Token expired", "Connect again"))).toEqual({
      message: "Token expired",
      hint: "Connect again",
      remedy: null,
    });
    expect(api.errorText(uiError("x", "No hint", null))).toEqual({ message: "No hint", hint: null, remedy: null });
  });

  it("names a button only for the remedies the window can apply", () => {
    expect(api.remedyAction({ kind: "reconnect", account: "a", provider: "github" })).toBe("Connect again");
    expect(api.remedyAction({ kind: "configure_provider", provider: "github", client_secret: true })).toBe("Set up the provider");
    expect(api.remedyAction({ kind: "unlock_keychain" })).toBeNull();
    expect(api.remedyAction({ kind: "setup_git", host: "github.com" })).toBeNull();
  });

  it("words the core's remedy for the window, never as a command line", () => {
    const t = api.errorText(
      uiError("invalid_input", "GitHub is not set up yet", null, { kind: "configure_provider", provider: "github", client_secret: true }),
    );
    expect(t.message).toBe("GitHub is not set up yet");
    expect(t.hint).toContain("client secret");
    expect(t.hint).not.toContain("connected-accounts");
    const both = api.errorText(uiError("invalid_input", "ambiguous", "Give the full account id.", { kind: "list_accounts" }));
    expect(both.hint).toBe("Give the full account id. Choose the account from the list.");
    const kinds: Remedy["kind"][] = [
      "configure_provider", "check_client", "list_providers", "list_accounts", "enter_user_endpoint",
      "use_browser_sign_in", "reconnect", "unlock_keychain", "install_secret_service",
    ];
    const samples: Remedy[] = [
      { kind: "configure_provider", provider: "p", client_secret: false },
      { kind: "check_client", provider_name: "P" },
      { kind: "list_providers" },
      { kind: "list_accounts" },
      { kind: "enter_user_endpoint" },
      { kind: "use_browser_sign_in" },
      { kind: "reconnect", account: "a", provider: "p" },
      { kind: "unlock_keychain" },
      { kind: "install_secret_service" },
    ];
    expect(samples.map((r) => r.kind)).toEqual(kinds);
    for (const r of samples) {
      const text = api.remedyText(r);
      expect(text.length).toBeGreaterThan(10);
      expect(text).not.toMatch(/connected-accounts|--[a-z]/);
    }
  });

  it("handles Error objects and strings", () => {
    expect(api.errorText(new Error("boom"))).toEqual({ message: "boom", hint: null });
    expect(api.errorText("command list_accounts not found")).toEqual({
      message: "command list_accounts not found",
      hint: null,
    });
  });

  it("still says something for values with no message", () => {
    for (const v of [undefined, null, 42, {}, ""]) {
      const t = api.errorText(v);
      expect(t.message.length).toBeGreaterThan(0);
    }
  });

  it("recognises a cancelled flow", () => {
    expect(api.isCancelled(uiError("cancelled", "Sign-in cancelled"))).toBe(true);
    expect(api.isCancelled(uiError("timeout", "Timed out"))).toBe(false);
    expect(api.isCancelled("cancelled")).toBe(false);
  });
});
