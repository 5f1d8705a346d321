import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { Account, AuditEvent, LastRead } from "./bindings";
import { Store, type Change } from "./store";
import { FakeBackend, NOW, account, deferred, provider, uiError } from "../test/fake-backend";

afterEach(() => clearMocks());

function storeOn(backend: FakeBackend): { store: Store; changes: Change[] } {
  mockIPC(backend.handle);
  const changes: Change[] = [];
  return { store: new Store((what) => changes.push(what)), changes };
}

const alice = account({ id: "a1", display_name: "Alice" });
const bob = account({ id: "b2", display_name: "Bob" });

function event(id: number, accountId: string | null): AuditEvent {
  return {
    id,
    at: "2025-06-01T11:59:00Z",
    kind: "refreshed",
    account_id: accountId,
    provider_id: "example",
    detail: "",
    consumer: null,
    count: 1,
    last_at: null,
  };
}

describe("store", () => {
  it("starts with the backend's lists, and counts as loaded even when they fail", async () => {
    const ok = storeOn(new FakeBackend({ list_providers: () => [provider()], list_accounts: () => [alice] }));
    await ok.store.start(NOW);
    expect(ok.store.loaded).toBe(true);
    expect(ok.store.accounts.map((a) => a.id)).toEqual(["a1"]);
    expect(ok.store.provider("example")?.name).toBe("Example ID");

    const failing = storeOn(
      new FakeBackend({
        list_providers: () => {
          throw uiError("storage", "the account database is damaged");
        },
        list_accounts: () => [],
      }),
    );
    await expect(failing.store.start(NOW)).rejects.toMatchObject({ message: "the account database is damaged" });
    expect(failing.store.loaded).toBe(true);
  });

  it("drops a list read that a newer read overtook", async () => {
    const slow = deferred<Account[]>();
    let calls = 0;
    const { store, changes } = storeOn(
      new FakeBackend({ list_accounts: () => (++calls === 1 ? slow.promise : [bob]) }),
    );
    const first = store.reloadAccounts();
    await store.reloadAccounts();
    slow.resolve([alice]);
    await first;
    expect(store.accounts.map((a) => a.id)).toEqual(["b2"]);
    expect(changes).toEqual(["accounts"]);
  });

  it("keeps an action's result over a list read still in flight, and hides that read's error", async () => {
    const slow = deferred<Account[]>();
    const { store } = storeOn(new FakeBackend({ list_accounts: () => slow.promise }));
    const reading = store.reloadAccounts();
    store.upsertAccount({ ...alice, status: "needs_reconnect" });
    slow.reject(uiError("storage", "database is locked"));
    await expect(reading).resolves.toBeUndefined();
    expect(store.accounts).toHaveLength(1);
    expect(store.account("a1")?.status).toBe("needs_reconnect");
  });

  it("throws a current read's error for the window to show", async () => {
    const { store } = storeOn(
      new FakeBackend({
        list_accounts: () => {
          throw uiError("storage", "database is locked");
        },
      }),
    );
    await expect(store.reloadAccounts()).rejects.toMatchObject({ message: "database is locked" });
  });

  it("applies a background update only to an account it lists", async () => {
    const { store, changes } = storeOn(new FakeBackend({ list_providers: () => [], list_accounts: () => [alice] }));
    await store.start(NOW);
    expect(store.applyBackgroundUpdate({ kind: "refreshed", account: { ...bob, status: "connected" } })).toBe(false);
    expect(store.accounts.map((a) => a.id)).toEqual(["a1"]);
    expect(store.applyBackgroundUpdate({ kind: "refreshed", account: { ...alice, status: "expiring" } })).toBe(true);
    expect(store.account("a1")?.status).toBe("expiring");
    expect(changes).toEqual(["background"]);
  });

  it("tells the views about recovery only when it changed something", async () => {
    let recovered = [alice];
    const { store, changes } = storeOn(
      new FakeBackend({ list_providers: () => [], list_accounts: () => [alice], recover_interrupted: () => recovered }),
    );
    await store.start(NOW);
    await store.recover();
    expect(changes).toEqual([]);
    recovered = [];
    await store.recover();
    expect(changes).toEqual(["accounts"]);
    expect(store.accounts).toEqual([]);
  });

  it("keeps the activity error, and the last readers when they cannot be read", async () => {
    const read: LastRead = {
      account_id: "a1",
      at: "2025-06-01T11:58:00Z",
      count: 1,
      detail: "token",
      consumer: { kind: "token", pid: 42, exe: "/usr/bin/git", parent_exe: null, cwd: null, tty: null },
    };
    let fail = false;
    const { store, changes } = storeOn(
      new FakeBackend({
        audit_log: () => {
          if (fail) throw uiError("storage", "database is locked");
          return [event(1, "a1")];
        },
        last_reads: () => {
          if (fail) throw uiError("storage", "database is locked");
          return [read];
        },
      }),
    );
    await store.loadAudit();
    expect(store.audit).toHaveLength(1);
    expect(store.lastReads.get("a1")?.consumer.exe).toBe("/usr/bin/git");
    expect(changes).toEqual(["audit", "reads"]);
    fail = true;
    await store.loadAudit();
    expect(store.auditError).toBe("database is locked");
    expect(store.lastReads.get("a1")?.consumer.exe).toBe("/usr/bin/git");
  });
});
