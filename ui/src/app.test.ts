import { afterEach, describe, expect, it, vi } from "vitest";
import type {
  Account,
  AccountUpdate,
  AuditEvent,
  ConnectStarted,
  DisconnectOutcome,
  LastRead,
  LiveApproval,
  ProbeResult,
  ProviderView,
  Question,
} from "./bindings";
import { FakeBackend, NOW, account, builtin, deferred, provider, uiError } from "../test/fake-backend";
import { allByTestId, boot, byTestId, click, launch, stopApp } from "../test/window";

afterEach(stopApp);

/** Like `list_providers`: a provider added by URL, a configured built-in, and two built-ins still to set up. */
function baseProviders(): ProviderView[] {
  return [
    builtin("github", { configured: true, client_id: "gh-client", scopes: ["repo"] }),
    builtin("gitlab"),
    builtin("microsoft"),
    provider(),
  ];
}

function baseBackend(
  opts: { accounts?: Account[]; audit?: AuditEvent[]; providers?: ProviderView[]; lastReads?: LastRead[] } = {},
): FakeBackend {
  let accounts = opts.accounts ?? [account()];
  const providers = opts.providers ?? baseProviders();
  return new FakeBackend({
    list_providers: () => providers,
    list_accounts: () => accounts,
    recover_interrupted: () => accounts,
    audit_log: () => opts.audit ?? [],
    last_reads: () => opts.lastReads ?? [],
    watch_accounts: () => null,
    watch_app: () => null,
    watch_approvals: () => null,
    list_approvals: () => [],
    window_ready: () => null,
    app_info: () => ({ profile: null }),
  }).on("__set_accounts", (a) => {
    accounts = a.list as Account[];
  });
}

function setAccounts(backend: FakeBackend, list: Account[]): void {
  backend.handle("__set_accounts", { list });
}

const qa = <T extends Element = HTMLElement>(sel: string, scope: ParentNode = document): T[] => [
  ...scope.querySelectorAll<T>(sel),
];

/** An account's line in the list. */
function item(accountId: string): HTMLElement {
  const r = allByTestId("account-item").find((el) => el.dataset.accountId === accountId);
  if (!r) throw new Error(`no list item for ${accountId}`);
  return r;
}

/** An account's page, opened from its line in the list when another (or none) is shown. */
function row(accountId: string): HTMLElement {
  const shown = byTestId("account-page");
  if (shown?.dataset.accountId === accountId) return shown;
  click(byTestId("account-open", item(accountId)));
  const page = byTestId("account-page");
  if (page?.dataset.accountId !== accountId) throw new Error(`no page for ${accountId}`);
  return page;
}

/**
 * Delivers messages the way Tauri does: through the callback of the channel the page passed to
 * `cmd` as argument `arg`, in order.
 */
function channelFor<T>(backend: FakeBackend, cmd: string, arg: string): (message: T) => void {
  const [args] = backend.callsOf(cmd);
  if (!args) throw new Error(`the app never called ${cmd}`);
  const id = (args[arg] as { id: number }).id;
  let index = 0;
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
    .__TAURI_INTERNALS__;
  return (message) => internals.runCallback(id, { index: index++, message });
}

function channelOf(backend: FakeBackend): (update: AccountUpdate) => void {
  return channelFor(backend, "watch_accounts", "onUpdate");
}

function providerRowOf(id: string): HTMLElement {
  const r = allByTestId("provider-row").find((el) => el.dataset.providerId === id);
  if (!r) throw new Error(`no provider row ${id}`);
  return r;
}

const started: ConnectStarted = {
  flow_id: "flow-42",
  provider: "github",
  browser_url: "http://127.0.0.1:41000/start/abc",
  redirect_uri: "http://127.0.0.1:49152/callback",
  timeout_secs: 300,
};

describe("start-up", () => {
  it("paints the account list, marks the page ready, then recovers interrupted accounts", async () => {
    const backend = baseBackend();
    const seenAtRecover: { ready?: string; rows: number } = { rows: -1 };
    backend.on("recover_interrupted", () => {
      seenAtRecover.ready = document.body.dataset.ready;
      seenAtRecover.rows = allByTestId("account-item").length;
      return [account({ status: "needs_reconnect" })];
    });
    await boot(backend);

    // The two lists in parallel; after the first paint, the subscription to background
    // changes, then the re-read (so no change falls between the first list and the watch).
    // The window (hidden until then) is shown as soon as the list is built.
    expect(backend.commands().slice(0, 5)).toEqual(["list_providers", "list_accounts", "window_ready", "watch_accounts", "recover_interrupted"]);
    expect(backend.callsOf("recover_interrupted")).toHaveLength(1);
    expect(seenAtRecover).toEqual({ ready: "accounts", rows: 1 });
    expect(document.body.dataset.ready).toBe("accounts");
    // The recovered list replaced the first one.
    expect(row("acc-1").dataset.status).toBe("needs_reconnect");
    expect(backend.callsOf("audit_log")).toEqual([{ limit: 50 }]);
  });

  it("paints the backend's start-up snapshot before any script could have asked for it", async () => {
    const backend = baseBackend();
    let rowsBeforeAnyList = -1;
    backend.on("watch_accounts", () => null);
    backend.on("recover_interrupted", () => [account()]);
    const snapshot = { taken_at_ms: NOW, providers: baseProviders(), accounts: [account({ display_name: "From snapshot" })] };
    (window as { __CA_STARTUP__?: unknown }).__CA_STARTUP__ = snapshot;
    const handle = launch(backend);
    // The list is on the page once the microtasks of start-up ran: no IPC round trip needed.
    await Promise.resolve();
    await Promise.resolve();
    rowsBeforeAnyList = allByTestId("account-item").length;
    await handle.started;

    expect(rowsBeforeAnyList).toBe(1);
    expect(backend.callsOf("list_accounts")).toHaveLength(0);
    expect(backend.callsOf("list_providers")).toHaveLength(0);
    // Used once: a later start (a reloaded page) asks again.
    expect((window as { __CA_STARTUP__?: unknown }).__CA_STARTUP__).toBeUndefined();
    // The read after the first paint differs (the name changed meanwhile), so it is shown.
    expect(row("acc-1").textContent).not.toContain("From snapshot");
  });

  it("ignores a stale snapshot (a page reloaded long after start) and asks instead", async () => {
    const backend = baseBackend();
    (window as { __CA_STARTUP__?: unknown }).__CA_STARTUP__ = {
      taken_at_ms: NOW - 60_000, providers: [], accounts: [account({ id: "old", display_name: "Old" })],
    };
    await boot(backend);
    expect(backend.callsOf("list_accounts")).toHaveLength(1);
    expect(allByTestId("account-item").map((r) => r.dataset.accountId)).toEqual(["acc-1"]);
  });

  it("ignores the snapshot in a reloaded page, which the backend injects into every load", async () => {
    const backend = baseBackend();
    vi.spyOn(performance, "getEntriesByType").mockImplementation((type: string) =>
      type === "navigation" ? ([{ type: "reload" }] as unknown as PerformanceEntryList) : [],
    );
    (window as { __CA_STARTUP__?: unknown }).__CA_STARTUP__ = {
      taken_at_ms: NOW, providers: [], accounts: [account({ id: "gone", display_name: "Gone" })],
    };
    await boot(backend);
    expect(backend.callsOf("list_accounts")).toHaveLength(1);
    expect(allByTestId("account-item").map((r) => r.dataset.accountId)).toEqual(["acc-1"]);
  });

  it("keeps the first paint when recovery finds nothing to change", async () => {
    const backend = baseBackend();
    await boot(backend);
    const first = item("acc-1");
    expect(backend.callsOf("recover_interrupted")).toHaveLength(1);
    // Same element: the list was not rebuilt for an identical answer.
    expect(item("acc-1")).toBe(first);
  });

  it("says what to do when there is nothing yet", async () => {
    await boot(baseBackend({ accounts: [] }));
    expect(byTestId("empty-what")?.textContent).toContain("keeps your sign-ins");
    expect(byTestId("empty-next")?.textContent).toBe("No account yet: connect one with a provider that is set up.");
    expect(byTestId("empty-set-up")?.textContent).toBe("Connect an account");
    expect(allByTestId("provider-row")).toHaveLength(2);
    // Its button opens the Providers view.
    click(byTestId("empty-set-up"));
    expect(document.body.dataset.view).toBe("providers");
    expect(byTestId("nav-providers")?.getAttribute("aria-current")).toBe("page");
  });

  it("the demo's first screen offers its server, and signs in there with one click", async () => {
    const demo = provider({ id: "local-demo", name: "Local demo" });
    const backend = baseBackend({ accounts: [], providers: [demo, builtin("github")] })
      .on("app_info", () => ({ profile: "demo" }))
      .on("connect_begin", () => ({ ...started, provider: "local-demo" }))
      .on("connect_finish", () => new Promise(() => {}));
    await boot(backend);
    expect(byTestId("empty-next")?.textContent).toContain("this is the demo");
    const tryIt = byTestId("empty-try-demo")!;
    expect(tryIt.textContent).toBe("Try it with the demo server");
    expect(tryIt.className).toContain("btn--primary");
    expect(byTestId("empty-set-up")?.className).not.toContain("btn--primary");
    click(tryIt);
    await vi.waitFor(() =>
      expect(backend.callsOf("connect_begin")).toEqual([{ providerId: "local-demo", scopes: null, redirect: null, account: null }]),
    );
  });

  it("offers no demo server outside the demo profile, nor in it once its provider is gone", async () => {
    await boot(baseBackend({ accounts: [], providers: [provider({ id: "local-demo" })] }));
    expect(byTestId("empty-set-up")).not.toBeNull();
    expect(byTestId("empty-try-demo")).toBeNull();
    stopApp();
    await boot(baseBackend({ accounts: [], providers: [provider()] }).on("app_info", () => ({ profile: "demo" })));
    expect(byTestId("empty-set-up")).not.toBeNull();
    expect(byTestId("empty-try-demo")).toBeNull();
  });

  it("shows the banner when the lists cannot be loaded", async () => {
    const backend = baseBackend().on("list_accounts", () => {
      throw uiError("keychain_locked", "The system keychain is locked.", "Unlock it and restart the app.");
    });
    await boot(backend);
    expect(byTestId("error-banner")?.textContent).toContain("The system keychain is locked.");
    expect(byTestId("error-banner")?.textContent).toContain("Unlock it and restart the app.");
    expect(document.body.dataset.ready).toBe("error");
    // The window still appears, with the error.
    expect(backend.callsOf("window_ready")).toHaveLength(1);
    expect(backend.callsOf("recover_interrupted")).toHaveLength(0);
  });
});

describe("account rows", () => {
  it("says which program last read the account's token, and from where", async () => {
    const read: LastRead = {
      account_id: "acc-1",
      at: new Date(NOW - 3 * 60_000).toISOString(),
      count: 4,
      detail: "git",
      consumer: {
        kind: "git_credential",
        pid: 42,
        exe: "/usr/bin/git",
        parent_exe: "/usr/bin/bash",
        cwd: "/home/ada/work/acme",
        tty: "/dev/pts/3",
      },
    };
    const backend = baseBackend({ accounts: [account(), account({ id: "acc-2" })], lastReads: [read] });
    await boot(backend);
    await vi.waitFor(() => expect(byTestId("account-last-read", row("acc-1"))).not.toBeNull());
    const line = byTestId("account-last-read", row("acc-1"))!;
    expect(line.textContent).toBe("Used by git, 3 min ago · by bash in ~/work/acme");
    expect(line.title).toContain("Started by: /usr/bin/bash");
    expect(line.title).toContain("4 reads in a row");
    expect(byTestId("account-last-read", row("acc-2"))).toBeNull();
  });

  it("shows granted scopes as chips and requested-but-missing ones differently", async () => {
    await boot(
      baseBackend({
        accounts: [account({ scopes_requested: ["openid", "email", "repo"], scopes_granted: ["openid", "email"] })],
      }),
    );
    const r = row("acc-1");
    expect(allByTestId("scope-granted", r).map((c) => c.textContent)).toEqual(["openid", "email"]);
    const missing = allByTestId("scope-missing", r);
    expect(missing.map((c) => c.textContent)).toEqual(["repo"]);
    expect(missing[0]?.getAttribute("title")).toBe("requested but not granted");
    expect(missing[0]?.classList.contains("chip--missing")).toBe(true);
    expect(allByTestId("scope-granted", r).some((c) => c.classList.contains("chip--missing"))).toBe(false);
    expect(byTestId("scopes-note", r)).toBeNull();
  });

  it("notes when the server did not report granted scopes", async () => {
    await boot(
      baseBackend({
        accounts: [account({ scopes_source: "requested", scopes_requested: ["a", "b"], scopes_granted: ["a", "b"] })],
      }),
    );
    const r = row("acc-1");
    expect(allByTestId("scope-granted", r).map((c) => c.textContent)).toEqual(["a", "b"]);
    expect(allByTestId("scope-missing", r)).toHaveLength(0);
    expect(byTestId("scopes-note", r)?.textContent).toBe(
      "server did not report granted scopes; showing the requested ones",
    );
  });

  it("shows name, email, provider, status, expiry and data attributes", async () => {
    const expires = new Date(NOW + 59 * 60_000 + 30_000).toISOString();
    await boot(baseBackend({ accounts: [account({ status: "expiring", expires_at: expires })] }));
    const r = row("acc-1");
    expect(r.dataset.status).toBe("expiring");
    expect(r.dataset.expiresAt).toBe(expires);
    expect(byTestId("account-name", r)?.textContent).toBe("Ada Lovelace");
    expect(r.textContent).toContain("ada@example.com");
    expect(r.textContent).toContain("Example ID");
    const badge = byTestId("account-status", r);
    expect(badge?.textContent).toBe("expiring soon");
    expect(badge?.classList.contains("badge--warn")).toBe(true);
    const expiry = byTestId("account-expiry", r);
    expect(expiry?.textContent).toBe("expires in 59 min");
    expect(expiry?.getAttribute("title")).toMatch(/^Expires /);
  });

  it("shows expired and missing expiry, last_error and the reconnect hint", async () => {
    await boot(
      baseBackend({
        accounts: [
          account({
            id: "old",
            status: "needs_reconnect",
            expires_at: new Date(NOW - 3 * 60_000 - 5_000).toISOString(),
            last_error: "invalid_grant: refresh token revoked",
          }),
          account({ id: "forever", expires_at: null }),
        ],
      }),
    );
    const old = row("old");
    expect(byTestId("account-expiry", old)?.textContent).toBe("expired 3 min ago");
    expect(byTestId("account-status", old)?.textContent).toBe("needs reconnect");
    expect(byTestId("account-error", old)?.textContent).toBe("invalid_grant: refresh token revoked");
    expect(byTestId("reconnect-hint", old)?.textContent).toContain("Connect Example ID again");
    expect(row("forever").dataset.expiresAt).toBe("");
    expect(byTestId("account-expiry", row("forever"))?.textContent).toBe("no expiry");
    expect(byTestId("reconnect-hint", row("forever"))).toBeNull();
  });

  it("renders hostile provider data as text, never as markup", async () => {
    await boot(
      baseBackend({ accounts: [account({ display_name: '<img src=x onerror="alert(1)">', last_error: "<b>x</b>" })] }),
    );
    const r = row("acc-1");
    expect(byTestId("account-name", r)?.textContent).toBe('<img src=x onerror="alert(1)">');
    expect(r.querySelector("img, b")).toBeNull();
  });
});

describe("connect", () => {
  it("binds tokens to this device by default where the server offers it; unticked, asks for bearer tokens", async () => {
    const backend = baseBackend({ providers: [provider({ binds_tokens: true }), provider({ id: "plain", name: "Plain" })] })
      .on("connect_begin", () => started)
      .on("connect_finish", () => deferred<Account>().promise);
    await boot(backend);
    expect(byTestId("connect-bind", providerRowOf("plain"))).toBeNull();
    const box = byTestId("connect-bind", providerRowOf("example")) as HTMLInputElement;
    expect(box.checked).toBe(true);
    box.click();
    expect(box.checked).toBe(false);
    click(byTestId("connect", providerRowOf("example")));
    await vi.waitFor(() =>
      expect(backend.callsOf("connect_begin")).toEqual([{ providerId: "example", scopes: null, redirect: null, account: null, bearer: true }]),
    );
  });

  it("waits for the browser, counts down, and Cancel calls connect_cancel with the flow id", async () => {
    const finish = deferred<Account>();
    const backend = baseBackend()
      .on("connect_begin", () => started)
      .on("connect_finish", () => finish.promise)
      .on("connect_cancel", () => {
        finish.reject(uiError("cancelled", "Sign-in was cancelled."));
        return null;
      });
    await boot(backend);

    const gh = providerRowOf("github");
    const scopes = byTestId("connect-scopes", gh) as HTMLInputElement;
    scopes.value = " repo  read:user ";
    click(byTestId("connect", gh));

    await vi.waitFor(() => expect(byTestId("flow-waiting")).not.toBeNull());
    expect(backend.callsOf("connect_begin")).toEqual([{ providerId: "github", scopes: ["repo", "read:user"], redirect: null, account: null }]);
    expect(backend.callsOf("connect_finish")).toEqual([{ flowId: "flow-42" }]);
    const panel = byTestId("flow-waiting")!;
    expect(panel.textContent).toContain("Waiting for you to finish signing in to GitHub in your browser…");
    expect(panel.textContent).toContain("http://127.0.0.1:49152/callback");
    expect(byTestId("flow-countdown", panel)?.textContent).toBe("5:00");
    expect(allByTestId("connect").every((b) => (b as HTMLButtonElement).disabled)).toBe(true);

    click(byTestId("cancel-flow"));
    await vi.waitFor(() => expect(byTestId("flow-waiting")).toBeNull());
    expect(backend.callsOf("connect_cancel")).toEqual([{ flowId: "flow-42" }]);
    expect(byTestId("error-banner")).toBeNull();
    expect(allByTestId("connect").every((b) => !(b as HTMLButtonElement).disabled)).toBe(true);
  });

  it("drops a pending sign-in's row that a list read meanwhile showed, once the sign-in is cancelled", async () => {
    const finish = deferred<Account>();
    const recovered = deferred<Account[]>();
    const backend = baseBackend({ accounts: [] })
      .on("recover_interrupted", () => recovered.promise)
      .on("connect_begin", () => started)
      .on("connect_finish", () => finish.promise)
      .on("connect_cancel", () => {
        finish.reject(uiError("cancelled", "Sign-in was cancelled."));
        return null;
      });
    launch(backend);
    await vi.waitFor(() => expect(document.body.dataset.ready).toBe("accounts"));
    click(byTestId("connect", providerRowOf("github")));
    await vi.waitFor(() => expect(byTestId("flow-waiting")).not.toBeNull());
    // Start-up's recovery answers while the sign-in is pending, with its "connecting…" row.
    recovered.resolve([account({ id: "pending", status: "connecting" })]);
    await vi.waitFor(() => expect(allByTestId("account-item")).toHaveLength(1));
    click(byTestId("cancel-flow"));
    await vi.waitFor(() => expect(byTestId("flow-waiting")).toBeNull());
    await vi.waitFor(() => expect(allByTestId("account-item")).toHaveLength(0));
  });

  it("sends null scopes when the override is empty", async () => {
    const backend = baseBackend()
      .on("connect_begin", () => started)
      .on("connect_finish", () => new Promise(() => {}));
    await boot(backend);
    click(byTestId("connect", providerRowOf("example")));
    await vi.waitFor(() =>
      expect(backend.callsOf("connect_begin")).toEqual([{ providerId: "example", scopes: null, redirect: null, account: null }]),
    );
  });

  it("adds the new account, opens its page, highlights it in the list and clears the waiting panel", async () => {
    const finish = deferred<Account>();
    const backend = baseBackend()
      .on("connect_begin", () => started)
      .on("connect_finish", () => finish.promise);
    await boot(backend);
    click(byTestId("connect", providerRowOf("github")));
    await vi.waitFor(() => expect(byTestId("flow-waiting")).not.toBeNull());

    finish.resolve(account({ id: "gh-1", provider: "github", provider_name: "GitHub", display_name: "octocat" }));
    await vi.waitFor(() => expect(byTestId("flow-waiting")).toBeNull());
    expect(document.body.dataset.view).toBe("account");
    expect(byTestId("account-page")?.dataset.accountId).toBe("gh-1");
    expect(byTestId("account-name", byTestId("account-page")!)?.textContent).toBe("octocat");
    expect(item("gh-1").dataset.highlight).toBe("true");
    expect(item("gh-1").classList.contains("is-new")).toBe(true);
    expect(item("acc-1").dataset.highlight).toBeUndefined();
  });

  it("shows the error when the flow fails, and the banner can be dismissed", async () => {
    const backend = baseBackend()
      .on("connect_begin", () => started)
      .on("connect_finish", () => {
        throw uiError("access_denied", "GitHub said you declined access.", "Press Connect to try again.");
      });
    await boot(backend);
    click(byTestId("connect", providerRowOf("github")));
    await vi.waitFor(() => expect(byTestId("error-banner")).not.toBeNull());
    expect(byTestId("flow-waiting")).toBeNull();
    expect(byTestId("error-message")?.textContent).toBe("GitHub said you declined access.");
    expect(byTestId("error-hint")?.textContent).toBe("Press Connect to try again.");
    click(byTestId("error-dismiss"));
    expect(byTestId("error-banner")).toBeNull();
  });

  it("shows the error when the flow cannot start", async () => {
    const backend = baseBackend().on("connect_begin", () => {
      throw uiError("discovery_failed", "Could not read the provider's metadata.", null);
    });
    await boot(backend);
    click(byTestId("connect", providerRowOf("example")));
    await vi.waitFor(() => expect(byTestId("error-banner")?.textContent).toContain("Could not read the provider's metadata."));
    expect(byTestId("flow-waiting")).toBeNull();
    expect(backend.callsOf("connect_finish")).toHaveLength(0);
  });
});

describe("disconnect", () => {
  function disconnectBackend(outcomes: DisconnectOutcome[]): FakeBackend {
    const backend = baseBackend();
    backend.on("disconnect_account", () => {
      const next = outcomes.shift();
      if (!next) throw new Error("unexpected disconnect_account");
      if (next.kind !== "confirmation_required") setAccounts(backend, []);
      return next;
    });
    return backend;
  }

  it("asks first and does nothing when the answer is no", async () => {
    const backend = disconnectBackend([{ kind: "revoked" }]);
    await boot(backend);
    click(byTestId("disconnect", row("acc-1")));

    const dialog = byTestId("confirm-dialog");
    expect(dialog?.textContent).toContain(
      "Disconnect Ada Lovelace? The app revokes its tokens at Example ID and forgets the account.",
    );
    expect(dialog?.getAttribute("role")).toBe("dialog");
    expect(backend.callsOf("disconnect_account")).toHaveLength(0);

    click(byTestId("confirm-no"));
    expect(byTestId("confirm-dialog")).toBeNull();
    await Promise.resolve();
    expect(backend.callsOf("disconnect_account")).toHaveLength(0);
    expect(allByTestId("account-item")).toHaveLength(1);
  });

  it("revokes on yes and reloads the list", async () => {
    const backend = disconnectBackend([{ kind: "revoked" }]);
    await boot(backend);
    click(byTestId("disconnect", row("acc-1")));
    click(byTestId("confirm-yes"));
    await vi.waitFor(() => expect(byTestId("accounts-empty")).not.toBeNull());
    expect(backend.callsOf("disconnect_account")).toEqual([{ accountId: "acc-1", confirmed: false }]);
    expect(byTestId("notice")?.textContent).toContain("Disconnected Ada Lovelace");
  });

  it("asks again when the backend needs confirmation, showing the message and manage URL", async () => {
    const backend = disconnectBackend([
      {
        kind: "confirmation_required",
        message: "Example ID has no revocation endpoint; the grant stays valid there.",
        manage_url: "https://id.example.com/account/apps",
      },
      { kind: "removed_locally", warning: "Removed here; revoke the app at Example ID yourself." },
    ]);
    await boot(backend);
    click(byTestId("disconnect", row("acc-1")));
    click(byTestId("confirm-yes"));

    await vi.waitFor(() =>
      expect(byTestId("confirm-dialog")?.textContent).toContain("Example ID has no revocation endpoint"),
    );
    expect((byTestId("confirm-copy") as HTMLInputElement).value).toBe("https://id.example.com/account/apps");
    expect(backend.callsOf("disconnect_account")).toEqual([{ accountId: "acc-1", confirmed: false }]);
    expect(row("acc-1").dataset.status).toBe("disconnecting");

    click(byTestId("confirm-yes"));
    await vi.waitFor(() => expect(byTestId("accounts-empty")).not.toBeNull());
    expect(backend.callsOf("disconnect_account")).toEqual([
      { accountId: "acc-1", confirmed: false },
      { accountId: "acc-1", confirmed: true },
    ]);
    expect(byTestId("notice")?.textContent).toContain("Removed here; revoke the app at Example ID yourself.");
  });

  it("keeps the account when the second question is answered no", async () => {
    const backend = disconnectBackend([
      { kind: "confirmation_required", message: "Revocation failed: network unreachable.", manage_url: null },
    ]);
    await boot(backend);
    click(byTestId("disconnect", row("acc-1")));
    click(byTestId("confirm-yes"));
    await vi.waitFor(() => expect(byTestId("confirm-dialog")?.textContent).toContain("Revocation failed"));
    expect(byTestId("confirm-copy")).toBeNull();
    click(byTestId("confirm-no"));
    await vi.waitFor(() => expect(row("acc-1").dataset.busy).toBeUndefined());
    expect(backend.callsOf("disconnect_account")).toHaveLength(1);
    expect(row("acc-1").dataset.status).toBe("connected");
  });

  it("shows a failed disconnect in the banner", async () => {
    const backend = baseBackend().on("disconnect_account", () => {
      throw uiError("keychain", "Could not delete the tokens from the keychain.", "Unlock the keychain and try again.");
    });
    await boot(backend);
    click(byTestId("disconnect", row("acc-1")));
    click(byTestId("confirm-yes"));
    await vi.waitFor(() => expect(byTestId("error-banner")).not.toBeNull());
    expect(byTestId("error-banner")?.textContent).toContain("Unlock the keychain and try again.");
    expect(allByTestId("account-item")).toHaveLength(1);
  });
});

describe("test and refresh", () => {
  it("shows Testing… then the request, status, latency, headers and body", async () => {
    const probe = deferred<ProbeResult>();
    const backend = baseBackend().on("test_account", () => probe.promise);
    await boot(backend);
    click(byTestId("test", row("acc-1")));

    const view = byTestId("test-view")!;
    expect(byTestId("test-pending", view)?.textContent).toBe("Testing…");
    expect(view.textContent).toContain("never reached this window");
    expect(backend.callsOf("test_account")).toEqual([{ accountId: "acc-1" }]);
    for (const id of ["test", "refresh", "disconnect"]) {
      expect((byTestId(id, row("acc-1")) as HTMLButtonElement).disabled).toBe(true);
    }

    probe.resolve({
      url: "https://id.example.com/userinfo",
      method: "GET",
      status: 200,
      latency_ms: 123,
      headers: [["content-type", "application/json"]],
      body: { sub: "sub-1", html: "<script>alert(1)</script>" },
      truncated: false,
      missing_scopes: null,
    });
    await vi.waitFor(() => expect(byTestId("test-status")).not.toBeNull());
    expect(byTestId("test-request")?.textContent).toBe("GET https://id.example.com/userinfo");
    expect(byTestId("test-status")?.textContent).toBe("200");
    expect(byTestId("test-latency")?.textContent).toBe("123 ms");
    expect(qa("td", view).map((td) => td.textContent)).toEqual(["content-type", "application/json"]);
    const body = byTestId("test-body")!;
    expect(body.tagName).toBe("PRE");
    expect(JSON.parse(body.textContent ?? "")).toEqual({ sub: "sub-1", html: "<script>alert(1)</script>" });
    expect(body.textContent).toContain('\n  "sub": "sub-1"');
    expect(view.querySelector("script")).toBeNull();
    expect(byTestId("test-truncated")).toBeNull();
    await vi.waitFor(() => expect((byTestId("test", row("acc-1")) as HTMLButtonElement).disabled).toBe(false));

    click(byTestId("test-close"));
    expect(byTestId("test-view")).toBeNull();
  });

  it("the request box sends what was typed, kept across re-renders, and shows the reply", async () => {
    const reply = deferred<ProbeResult>();
    const backend = baseBackend().on("request_account", () => reply.promise);
    await boot(backend);
    const field = byTestId("request-url", row("acc-1")) as HTMLInputElement;
    expect(field.value).toBe("https://id.example.test/me");
    expect(byTestId("account-request", row("acc-1"))?.textContent).toContain("only to https://id.example.test");
    field.value = "https://id.example.test/me/repos";
    field.dispatchEvent(new Event("input"));
    // A background change re-renders the page; the typed URL stays.
    channelOf(backend)({ kind: "refreshed", account: account({ display_name: "Alice A." }) });
    await vi.waitFor(() => expect(byTestId("account-name")?.textContent).toBe("Alice A."));
    expect((byTestId("request-url", row("acc-1")) as HTMLInputElement).value).toBe("https://id.example.test/me/repos");

    click(byTestId("request-send", row("acc-1")));
    const view = byTestId("test-view")!;
    expect(view.textContent).toContain("Request — Alice A.");
    expect(byTestId("test-pending", view)?.textContent).toBe("Sending…");
    expect(backend.callsOf("request_account")).toEqual([{ accountId: "acc-1", url: "https://id.example.test/me/repos" }]);
    reply.resolve({ url: "https://id.example.test/me/repos", method: "GET", status: 404, latency_ms: 9, headers: [], body: { error: "nope" }, truncated: false, missing_scopes: null });
    await vi.waitFor(() => expect(byTestId("test-status")?.textContent).toBe("404"));
    expect(byTestId("test-request")?.textContent).toBe("GET https://id.example.test/me/repos");
  });

  it("a 403 naming missing scopes offers step-up: a new sign-in for the granted scopes plus those", async () => {
    const backend = baseBackend({ accounts: [account({ bound: true, scopes_granted: ["openid", "api:read"] })] })
      .on("request_account", () => ({
        url: "https://id.example.test/admin",
        method: "GET",
        status: 403,
        latency_ms: 5,
        headers: [["www-authenticate", 'DPoP error="insufficient_scope", scope="api:write"']],
        body: { error: "insufficient_scope" },
        truncated: false,
        missing_scopes: ["api:write"],
      }))
      .on("connect_begin", () => started)
      .on("connect_finish", () => deferred<Account>().promise);
    await boot(backend);
    expect(byTestId("account-bound", row("acc-1"))?.textContent).toContain("Bound to this device");
    click(byTestId("request-send", row("acc-1")));
    await vi.waitFor(() => expect(byTestId("step-up")).not.toBeNull());
    expect(byTestId("step-up")?.textContent).toContain("api:write");
    // Nothing is retried or signed in on its own.
    expect(backend.callsOf("connect_begin")).toEqual([]);
    click(byTestId("step-up-connect"));
    expect(byTestId("test-view")).toBeNull();
    await vi.waitFor(() =>
      expect(backend.callsOf("connect_begin")).toEqual([
        { providerId: "example", scopes: ["openid", "api:read", "api:write"], redirect: null, account: "acc-1" },
      ]),
    );
  });

  it("a URL off the provider's API is refused with the reason, and the view closes", async () => {
    const backend = baseBackend().on("request_account", () => {
      throw uiError("invalid_input", "https://evil.example is not Local demo's", "the token goes only to Local demo's API: https://id.example.test");
    });
    await boot(backend);
    const field = byTestId("request-url", row("acc-1")) as HTMLInputElement;
    field.value = "https://evil.example/";
    click(byTestId("request-send", row("acc-1")));
    await vi.waitFor(() => expect(byTestId("error-banner")?.textContent).toContain("is not Local demo's"));
    expect(byTestId("error-banner")?.textContent).toContain("only to Local demo's API");
    expect(byTestId("test-view")).toBeNull();
  });

  it("closes the test view and shows the banner when the test fails", async () => {
    const backend = baseBackend().on("test_account", () => {
      throw uiError("offline", "Could not reach id.example.com.", "Check your connection.");
    });
    await boot(backend);
    click(byTestId("test", row("acc-1")));
    await vi.waitFor(() => expect(byTestId("error-banner")).not.toBeNull());
    expect(byTestId("test-view")).toBeNull();
  });

  it("refresh disables the row, shows refreshing…, then the updated account", async () => {
    const done = deferred<Account>();
    const backend = baseBackend().on("refresh_account", () => done.promise);
    await boot(backend);
    click(byTestId("refresh", row("acc-1")));
    await vi.waitFor(() => expect(row("acc-1").dataset.status).toBe("refreshing"));
    expect(byTestId("account-status", row("acc-1"))?.textContent).toBe("refreshing…");
    expect((byTestId("refresh", row("acc-1")) as HTMLButtonElement).disabled).toBe(true);
    expect(backend.callsOf("refresh_account")).toEqual([{ accountId: "acc-1" }]);

    const auditCalls = backend.callsOf("audit_log").length;
    done.resolve(account({ expires_at: new Date(NOW + 2 * 3600_000).toISOString() }));
    await vi.waitFor(() => expect(row("acc-1").dataset.status).toBe("connected"));
    expect(byTestId("account-expiry", row("acc-1"))?.textContent).toBe("expires in 2 h");
    expect((byTestId("refresh", row("acc-1")) as HTMLButtonElement).disabled).toBe(false);
    // The activity list is re-read after the action.
    await vi.waitFor(() => expect(backend.callsOf("audit_log").length).toBe(auditCalls + 1));
  });

  it("a failed refresh shows the banner and the stored status", async () => {
    const backend = baseBackend();
    backend.on("refresh_account", () => {
      setAccounts(backend, [account({ status: "needs_reconnect", last_error: "invalid_grant" })]);
      throw uiError("needs_reconnect", "Example ID no longer accepts this sign-in.", "Connect the account again.");
    });
    await boot(backend);
    click(byTestId("refresh", row("acc-1")));
    await vi.waitFor(() => expect(row("acc-1").dataset.status).toBe("needs_reconnect"));
    expect(byTestId("error-message")?.textContent).toBe("Example ID no longer accepts this sign-in.");
    expect(byTestId("reconnect-hint", row("acc-1"))).not.toBeNull();
  });
});

describe("access policy", () => {
  function choose(value: string): void {
    const input = byTestId(`policy-${value}`, row("acc-1")) as HTMLInputElement;
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  it("shows the account's policy and sets another with a click, loosening included", async () => {
    const backend = baseBackend({ accounts: [account({ policy: "deny" })] });
    backend.on("set_policy", (a) => account({ policy: (a as { policy: Account["policy"] }).policy }));
    await boot(backend);
    const section = byTestId("account-policy", row("acc-1"));
    expect((byTestId("policy-deny", section ?? undefined) as HTMLInputElement).checked).toBe(true);
    expect(section?.textContent).toContain("can still read the system keychain directly");
    choose("allow");
    await vi.waitFor(() => expect(backend.callsOf("set_policy")).toEqual([{ accountId: "acc-1", policy: "allow" }]));
    await vi.waitFor(() => expect((byTestId("policy-allow", row("acc-1")) as HTMLInputElement).checked).toBe(true));
  });

  it("a refused change shows the banner and the stored policy again", async () => {
    const backend = baseBackend();
    backend.on("set_policy", () => {
      throw uiError("storage", "The database is locked.", "Try again.");
    });
    await boot(backend);
    choose("deny");
    await vi.waitFor(() => expect(byTestId("error-message")?.textContent).toBe("The database is locked."));
    expect((byTestId("policy-allow", row("acc-1")) as HTMLInputElement).checked).toBe(true);
  });
});

describe("approval questions", () => {
  const questions = (backend: FakeBackend) => channelFor<Question>(backend, "watch_approvals", "onQuestion");

  function question(overrides: Partial<Question> = {}): Question {
    return {
      id: "q-1",
      account_id: "acc-1",
      account_name: "Ada Lovelace",
      provider_name: "Example ID",
      purpose: { kind: "token" },
      program: "/usr/bin/git",
      parents: ["/usr/bin/bash", "/usr/libexec/gnome-terminal-server"],
      cwd: "/home/ada/work",
      deadline_ms: NOW + 60_000,
      arm_after_ms: 150,
      ...overrides,
    };
  }

  async function asked(overrides: Partial<Question> = {}): Promise<{ backend: FakeBackend; ask: (q: Question) => void }> {
    const backend = baseBackend().on("answer_approval", () => null);
    await boot(backend);
    await vi.waitFor(() => expect(backend.callsOf("watch_approvals")).toHaveLength(1));
    const ask = questions(backend);
    ask(question(overrides));
    await vi.waitFor(() => expect(byTestId("approval-dialog")).not.toBeNull());
    return { backend, ask };
  }

  const armed = () => vi.waitFor(() => expect(byTestId("approval-dialog")?.dataset.armed).toBe("true"));

  it("names the program and its parents, the folder, the account and what for; Deny is the default", async () => {
    const { backend } = await asked();
    expect(byTestId("approval-chain")?.textContent).toBe("git ← bash ← gnome-terminal-server");
    expect(byTestId("approval-cwd")?.textContent).toBe("/home/ada/work");
    expect(byTestId("approval-account")?.textContent).toBe("Ada Lovelace (Example ID)");
    expect(byTestId("approval-purpose")?.textContent).toBe("a token");
    expect(document.activeElement).toBe(byTestId("approval-dialog"));
    // Against click-jacking: nothing answers in the first moment, not even Escape.
    for (const id of ["approval-deny", "approval-once", "approval-session"]) {
      expect((byTestId(id) as HTMLButtonElement).disabled).toBe(true);
    }
    byTestId("approval-dialog")?.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(byTestId("approval-dialog")).not.toBeNull();
    expect(byTestId("approval-always-git")).toBeNull();
    await armed();
    expect(document.activeElement).toBe(byTestId("approval-deny"));
    expect((byTestId("approval-once") as HTMLButtonElement).disabled).toBe(false);
    const audits = backend.callsOf("audit_log").length;
    click(byTestId("approval-once"));
    await vi.waitFor(() => expect(backend.callsOf("answer_approval")).toEqual([{ id: "q-1", choice: { kind: "once" } }]));
    expect(byTestId("approval-dialog")).toBeNull();
    await vi.waitFor(() => expect(backend.callsOf("audit_log").length).toBe(audits + 1));
  });

  it("one question at a time: a repeat is ignored, the next waits its turn; a session grant takes its minutes", async () => {
    const { backend, ask } = await asked();
    ask(question());
    ask(question({ id: "q-2", purpose: { kind: "git", host: "github.com", path: "acme/tools.git" }, program: "/usr/bin/git" }));
    expect(allByTestId("approval-dialog")).toHaveLength(1);
    await armed();
    const minutes = byTestId("approval-minutes") as HTMLSelectElement;
    minutes.value = "60";
    click(byTestId("approval-session"));
    await vi.waitFor(() => expect(byTestId("approval-dialog")?.dataset.questionId).toBe("q-2"));
    expect(byTestId("approval-purpose")?.textContent).toBe("git for github.com/acme/tools.git");
    await armed();
    click(byTestId("approval-always-git"));
    await vi.waitFor(() =>
      expect(backend.callsOf("answer_approval")).toEqual([
        { id: "q-1", choice: { kind: "session", minutes: 60 } },
        { id: "q-2", choice: { kind: "always_git" } },
      ]),
    );
  });

  it("Escape, once armed, denies; a question past its deadline closes unanswered", async () => {
    const { backend, ask } = await asked();
    await armed();
    byTestId("approval-dialog")?.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await vi.waitFor(() => expect(backend.callsOf("answer_approval")).toEqual([{ id: "q-1", choice: { kind: "deny" } }]));
    ask(question({ id: "q-3", deadline_ms: NOW + 300 }));
    await vi.waitFor(() => expect(byTestId("approval-dialog")).not.toBeNull());
    await vi.waitFor(() => expect(byTestId("approval-dialog")).toBeNull(), { timeout: 2000 });
    expect(backend.callsOf("answer_approval")).toHaveLength(1);
  });

  it("the account page lists the approvals in force, and End ends one", async () => {
    let live: LiveApproval[] = [
      { id: "g-1", account_id: "acc-1", program: "/usr/bin/node", always_git: false, ends_at: new Date(NOW + 3600_000).toISOString(), idle_ends_at: null },
      { id: "git:acc-1", account_id: "acc-1", program: null, always_git: true, ends_at: null, idle_ends_at: null },
    ];
    const backend = baseBackend()
      .on("list_approvals", () => live)
      .on("end_approval", (a) => (live = live.filter((l) => l.id !== a.id)));
    await boot(backend);
    await vi.waitFor(() => expect(allByTestId("live-approval", row("acc-1"))).toHaveLength(2));
    const items = allByTestId("live-approval", row("acc-1"));
    expect(items[0]?.textContent).toContain("node in its session");
    expect(items[1]?.textContent).toContain("Git, always");
    click(byTestId("end-approval", items[1]));
    await vi.waitFor(() => expect(allByTestId("live-approval", row("acc-1"))).toHaveLength(1));
    expect(backend.callsOf("end_approval")).toEqual([{ id: "git:acc-1" }]);
  });
});

describe("providers and activity", () => {
  it("adds a provider from the form", async () => {
    const backend = baseBackend().on("add_provider", (args) => {
      const p = args.provider as { issuer: string; client_id: string; name: string | null; scopes: string[] };
      return provider({ id: "keycloak", name: p.name ?? "Keycloak", issuer: p.issuer, client_id: p.client_id, scopes: p.scopes });
    });
    await boot(backend);
    const form = byTestId("add-provider-form") as HTMLFormElement;
    expect(form.hidden).toBe(true);
    click(byTestId("add-provider-open"));
    expect(form.hidden).toBe(false);

    const set = (name: string, value: string) => {
      (form.querySelector(`input[name="${name}"]`) as HTMLInputElement).value = value;
    };
    set("issuer", " https://sso.example.org/realms/main ");
    set("client_id", "abc123");
    set("name", "");
    set("scopes", "openid  read_user");
    click(byTestId("add-provider-submit"));
    // Discovery takes a round trip: the button says so meanwhile.
    expect(byTestId("add-provider-submit")?.textContent).toBe("Adding…");

    await vi.waitFor(() => expect(allByTestId("provider-row")).toHaveLength(3));
    expect(byTestId("add-provider-submit")?.textContent).toBe("Add provider");
    expect(backend.callsOf("add_provider")).toEqual([
      {
        provider: {
          issuer: "https://sso.example.org/realms/main",
          client_id: "abc123",
          redirect_uris: [],
          name: null,
          scopes: ["openid", "read_user"],
          userinfo_endpoint: null,
          revocation_endpoint: null,
        },
      },
    ]);
    expect(providerRowOf("keycloak").textContent).toContain("https://sso.example.org/realms/main");
    expect(form.hidden).toBe(true);
  });

  it("checks the form before calling the backend", async () => {
    const backend = baseBackend().on("add_provider", () => provider());
    await boot(backend);
    click(byTestId("add-provider-open"));
    click(byTestId("add-provider-submit"));
    const err = byTestId("add-provider-error")!;
    expect(err.hidden).toBe(false);
    expect(err.textContent).toBe("Enter the issuer URL.");
    expect(backend.callsOf("add_provider")).toHaveLength(0);
  });

  it("lists audit events", async () => {
    await boot(
      baseBackend({
        audit: [
          { id: 2, at: "2025-06-01T11:59:00Z", kind: "flow_completed", account_id: "acc-1", provider_id: "example", detail: "Ada connected", consumer: null, count: 1, last_at: null },
          { id: 1, at: "2025-06-01T11:58:00Z", kind: "flow_started", account_id: null, provider_id: "example", detail: "<i>started</i>", consumer: null, count: 1, last_at: null },
        ],
      }),
    );
    const entries = allByTestId("audit-entry");
    expect(entries.map((e) => e.dataset.kind)).toEqual(["flow_completed", "flow_started"]);
    expect(entries[1]?.textContent).toContain("<i>started</i>");
    expect(entries[0]?.querySelector("time")?.getAttribute("datetime")).toBe("2025-06-01T11:59:00Z");
  });
});

describe("background changes", () => {
  it("replaces a row in place when the backend refreshes it, without re-reading the list", async () => {
    const backend = baseBackend({ accounts: [account(), account({ id: "acc-2", display_name: "Grace" })] }).on(
      "watch_accounts",
      () => null,
    );
    await boot(backend);
    const push = channelOf(backend);
    const lists = backend.callsOf("list_accounts").length;

    push({ kind: "needs_reconnect", account: account({ status: "needs_reconnect", last_error: "invalid_grant" }) });
    await vi.waitFor(() => expect(row("acc-1").dataset.status).toBe("needs_reconnect"));
    expect(byTestId("reconnect-hint", row("acc-1"))).not.toBeNull();
    expect(row("acc-2").dataset.status).toBe("connected");

    push({ kind: "refreshed", account: account({ status: "connected" }) });
    await vi.waitFor(() => expect(row("acc-1").dataset.status).toBe("connected"));
    expect(backend.callsOf("list_accounts").length).toBe(lists);
  });

  it("renders a storm of background changes once, not once per change", async () => {
    const many = Array.from({ length: 50 }, (_, i) => account({ id: `acc-${i}` }));
    const backend = baseBackend({ accounts: many }).on("watch_accounts", () => null);
    await boot(backend);
    const push = channelOf(backend);
    const list = byTestId("account-list");
    for (const a of many) push({ kind: "needs_reconnect", account: { ...a, status: "needs_reconnect" } });
    expect(byTestId("account-list")).toBe(list); // nothing re-rendered yet
    await vi.waitFor(() => expect(allByTestId("account-item").every((r) => r.dataset.status === "needs_reconnect")).toBe(true));
  });

  it("never brings back an account that is no longer listed", async () => {
    const backend = baseBackend().on("watch_accounts", () => null);
    await boot(backend);
    channelOf(backend)({ kind: "refreshed", account: account({ id: "gone", display_name: "Gone" }) });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(allByTestId("account-item").map((r) => r.dataset.accountId)).toEqual(["acc-1"]);
  });

  it("subscribes before the re-read that follows the first paint, so no change falls in between", async () => {
    const backend = baseBackend().on("watch_accounts", () => null);
    // A refresh finished between the first list and the subscription: the re-read shows it.
    backend.on("recover_interrupted", () => [account({ status: "needs_reconnect" })]);
    await boot(backend);
    const order = backend.commands();
    expect(order.indexOf("watch_accounts")).toBeGreaterThan(order.indexOf("list_accounts"));
    expect(order.indexOf("watch_accounts")).toBeLessThan(order.indexOf("recover_interrupted"));
    expect(row("acc-1").dataset.status).toBe("needs_reconnect");
  });
});

describe("remove all my data", () => {
  it("asks first, and saying no calls nothing", async () => {
    const backend = baseBackend().on("forget_all", () => {
      throw new Error("must not be called");
    });
    await boot(backend);
    click(byTestId("forget-all"));
    await vi.waitFor(() => expect(byTestId("confirm-dialog")).not.toBeNull());
    expect(byTestId("confirm-dialog")?.textContent).toContain("There is no undo");
    click(byTestId("confirm-no"));
    await vi.waitFor(() => expect(byTestId("confirm-dialog")).toBeNull());
    expect(backend.callsOf("forget_all")).toHaveLength(0);
    expect(row("acc-1")).not.toBeNull();
  });

  it("removes everything, shows what happened, and its one button quits", async () => {
    const backend = baseBackend()
      .on("forget_all", () => ({
        revoked: ["Ada Lovelace (Example ID)"],
        not_revoked: ["Bob (Spotify): access remains until you remove the app at Spotify"],
        removed: ["/home/ada/.local/share/connected-accounts"],
      }))
      .on("quit_app", () => null);
    await boot(backend);
    click(byTestId("forget-all"));
    await vi.waitFor(() => expect(byTestId("confirm-yes")).not.toBeNull());
    click(byTestId("confirm-yes"));
    await vi.waitFor(() => expect(byTestId("forgotten")).not.toBeNull());
    expect(byTestId("forgotten-revoked")?.textContent).toContain("Ada Lovelace (Example ID)");
    expect(byTestId("forgotten-not-revoked")?.textContent).toContain("access remains");
    expect(byTestId("forgotten-removed")?.textContent).toContain("connected-accounts");
    expect(allByTestId("account-item")).toHaveLength(0);
    click(byTestId("quit"));
    await vi.waitFor(() => expect(backend.callsOf("quit_app")).toHaveLength(1));
  });

  it("keeps the page and says why when removing fails", async () => {
    const backend = baseBackend().on("forget_all", () => {
      throw uiError("keychain", "the system keychain did not answer", "unlock it and try again");
    });
    await boot(backend);
    click(byTestId("forget-all"));
    await vi.waitFor(() => expect(byTestId("confirm-yes")).not.toBeNull());
    click(byTestId("confirm-yes"));
    await vi.waitFor(() => expect(byTestId("error-banner")?.textContent).toContain("did not answer"));
    expect(byTestId("forgotten")).toBeNull();
    expect(row("acc-1")).not.toBeNull();
  });
});

describe("closing the window and the background settings", () => {
  const input = (id: string) => byTestId(id) as HTMLInputElement | null;
  const appChannel = (backend: FakeBackend) => channelFor<unknown>(backend, "watch_app", "onNotice");

  it("asks once what closing does, and the answer goes back to the backend", async () => {
    const backend = baseBackend().on("answer_close", () => null);
    await boot(backend);
    await vi.waitFor(() => expect(backend.callsOf("watch_app")).toHaveLength(1));
    const ask = appChannel(backend);
    ask({ kind: "close_asked" });
    ask({ kind: "close_asked" }); // a second close while it is open: still one question
    await vi.waitFor(() => expect(byTestId("close-dialog")).not.toBeNull());
    expect(allByTestId("close-dialog")).toHaveLength(1);
    expect(document.activeElement).toBe(byTestId("close-keep"));
    click(byTestId("close-keep"));
    await vi.waitFor(() => expect(backend.callsOf("answer_close")).toEqual([{ keepRunning: true }]));
    expect(byTestId("close-dialog")).toBeNull();
  });

  it("says once why closing quits where no tray exists, then quits", async () => {
    const backend = baseBackend().on("quit_app", () => null);
    await boot(backend);
    await vi.waitFor(() => expect(backend.callsOf("watch_app")).toHaveLength(1));
    appChannel(backend)({ kind: "closing_quits" });
    await vi.waitFor(() => expect(byTestId("closing-quits")).not.toBeNull());
    expect(byTestId("closing-quits")?.textContent).toContain("no tray icons");
    click(byTestId("closing-quits-ok"));
    await vi.waitFor(() => expect(backend.callsOf("quit_app")).toHaveLength(1));
  });

  it("Escape backs out of the question: the window stays and nothing is answered", async () => {
    const backend = baseBackend().on("answer_close", () => null);
    await boot(backend);
    await vi.waitFor(() => expect(backend.callsOf("watch_app")).toHaveLength(1));
    appChannel(backend)({ kind: "close_asked" });
    await vi.waitFor(() => expect(byTestId("close-dialog")).not.toBeNull());
    byTestId("close-dialog")?.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await vi.waitFor(() => expect(byTestId("close-dialog")).toBeNull());
    expect(backend.callsOf("answer_close")).toHaveLength(0);
  });

  it("Settings shows the close choice and pause, saves a change, and says when no tray exists", async () => {
    let settings = { close_action: "ask", refresh_paused: false };
    const view = (canKeep: boolean) => ({ settings, can_keep_running: canKeep, start_at_login: null });
    const backend = baseBackend()
      .on("app_settings", () => view(false))
      .on("set_close_action", (a) => {
        settings = { ...settings, close_action: a.action as string };
        return view(false);
      })
      .on("set_refresh_paused", (a) => {
        settings = { ...settings, refresh_paused: a.paused as boolean };
        return view(false);
      });
    await boot(backend);
    click(byTestId("nav-settings"));
    await vi.waitFor(() => expect(input("close-action-ask")?.checked).toBe(true));
    expect(byTestId("no-tray")?.textContent).toContain("closing the window quits");
    const quit = input("close-action-quit")!;
    quit.checked = true;
    quit.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(backend.callsOf("set_close_action")).toEqual([{ action: "quit" }]));
    await vi.waitFor(() => expect(input("close-action-quit")?.checked).toBe(true));
    const pause = input("refresh-paused")!;
    pause.checked = true;
    pause.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(backend.callsOf("set_refresh_paused")).toEqual([{ paused: true }]));
    await vi.waitFor(() => expect(input("refresh-paused")?.checked).toBe(true));
    expect(byTestId("start-at-login"), "not offered here (null)").toBeNull();
  });

  it("start at login is switched on and off where a tray exists, and cannot be switched on without one", async () => {
    const settings = { close_action: "ask", refresh_paused: false };
    let [tray, atLogin] = [true, false];
    const view = () => ({ settings, can_keep_running: tray, start_at_login: atLogin });
    const backend = baseBackend()
      .on("app_settings", view)
      .on("set_start_at_login", (a) => {
        atLogin = a.on as boolean;
        return view();
      });
    await boot(backend);
    click(byTestId("nav-settings"));
    await vi.waitFor(() => expect(input("start-at-login")).not.toBeNull());
    const box = input("start-at-login")!;
    expect([box.checked, box.disabled]).toEqual([false, false]);
    expect(box.getAttribute("aria-describedby")).toBe("login-hint");
    box.checked = true;
    box.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(backend.callsOf("set_start_at_login")).toEqual([{ on: true }]));
    await vi.waitFor(() => expect(input("start-at-login")?.checked).toBe(true));

    // No tray: an entry already written can still be switched off, but a missing one not on.
    tray = false;
    click(byTestId("nav-accounts"));
    click(byTestId("nav-settings"));
    await vi.waitFor(() => expect(byTestId("no-tray")).not.toBeNull());
    expect(input("start-at-login")?.disabled).toBe(false);
    expect(input("start-at-login")?.getAttribute("aria-describedby")).toBe("login-hint no-tray");
    input("start-at-login")!.checked = false;
    input("start-at-login")!.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(backend.callsOf("set_start_at_login")).toHaveLength(2));
    await vi.waitFor(() => expect(input("start-at-login")?.disabled, "off, with no tray to be found in").toBe(true));
    expect(input("start-at-login")?.checked).toBe(false);
  });

  it("a refused switch shows why and shows the setting as it is", async () => {
    const settings = { close_action: "ask", refresh_paused: false };
    const backend = baseBackend()
      .on("app_settings", () => ({ settings, can_keep_running: true, start_at_login: false }))
      .on("set_start_at_login", () => {
        throw uiError("invalid_input", "this desktop shows no tray icons, so an app started at login could not be found");
      });
    await boot(backend);
    click(byTestId("nav-settings"));
    await vi.waitFor(() => expect(input("start-at-login")).not.toBeNull());
    input("start-at-login")!.checked = true;
    input("start-at-login")!.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(document.body.textContent).toContain("could not be found"));
    await vi.waitFor(() => expect(input("start-at-login")?.checked).toBe(false));
  });
});

describe("a long account list", () => {
  it("builds one page of rows at start and the rest on request, from one list call", async () => {
    const many = Array.from({ length: 250 }, (_, i) => account({ id: `acc-${i}`, display_name: `User ${i}` }));
    const backend = baseBackend({ accounts: many });
    await boot(backend);
    expect(allByTestId("account-item")).toHaveLength(100);
    expect(byTestId("accounts-more")?.textContent).toBe("Show 100 more (250 accounts in all)");
    click(byTestId("accounts-more"));
    expect(allByTestId("account-item")).toHaveLength(200);
    click(byTestId("accounts-more"));
    expect(allByTestId("account-item")).toHaveLength(250);
    expect(byTestId("accounts-more")).toBeNull();
    expect(backend.callsOf("list_accounts")).toHaveLength(1);
  });
});

describe("an idle window", () => {
  it("updates only the expiry texts once a minute, without rebuilding the list", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      let now = NOW;
      await boot(baseBackend(), () => now);
      const r = item("acc-1");
      const before = byTestId("account-expiry", r)?.textContent;
      now += 30 * 60_000;
      vi.advanceTimersByTime(60_000);
      expect(item("acc-1")).toBe(r); // the same element: not re-rendered
      expect(byTestId("account-expiry", r)?.textContent).not.toBe(before);
    } finally {
      vi.useRealTimers();
    }
  });
});
