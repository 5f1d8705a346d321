import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Account, ConnectStarted, DeviceStarted } from "./bindings";
import { SignIn } from "./sign-in";
import { FakeBackend, NOW, account, builtin, deferred, uiError } from "../test/fake-backend";

let signIn: SignIn | null = null;

afterEach(() => {
  signIn?.stop();
  signIn = null;
  clearMocks();
  vi.useRealTimers();
  document.body.replaceChildren();
});

const started: ConnectStarted = {
  flow_id: "flow-1",
  provider: "github",
  browser_url: "http://127.0.0.1:41000/start/abc",
  redirect_uri: "http://127.0.0.1:49152/callback",
  timeout_secs: 300,
};

const deviceStarted: DeviceStarted = {
  flow_id: "dev-1",
  provider: "github",
  user_code: "WDJB-MJHT",
  verification_uri: "https://github.com/login/device",
  verification_uri_complete: null,
  browser_url: "http://127.0.0.1:41001/start/def",
  expires_in_secs: 900,
  interval_secs: 5,
};

type Seen = { running: boolean[]; ended: (Account | null)[]; errors: unknown[]; started: number; settled: number };

function controller(backend: FakeBackend, now: () => number = () => NOW): { s: SignIn; seen: Seen } {
  mockIPC(backend.handle);
  const slot = document.createElement("div");
  document.body.appendChild(slot);
  const seen: Seen = { running: [], ended: [], errors: [], started: 0, settled: 0 };
  const s = new SignIn(
    slot,
    now,
    {
      onRunning: () => seen.running.push(s.running()),
      onStarted: () => seen.started++,
      onEnded: (a) => seen.ended.push(a),
      onError: (e) => seen.errors.push(e),
      onSettled: () => seen.settled++,
    },
    (id) => (id === "github" ? "GitHub" : undefined),
  );
  signIn = s;
  return { s, seen };
}

const github = builtin("github", { configured: true, client_id: "gh" });
const flush = () => new Promise((r) => setTimeout(r, 0));

describe("sign-in controller", () => {
  it("shows the waiting panel until the account arrives, then reports it once", async () => {
    const done = deferred<Account>();
    const backend = new FakeBackend({ connect_begin: () => started, connect_finish: () => done.promise });
    const { s, seen } = controller(backend);
    const running = s.connect(github, "github", "GitHub", ["repo"], "loopback");
    await flush();
    const panel = s.slot.querySelector('[data-testid="flow-waiting"]');
    expect(panel?.textContent).toContain("signing in to GitHub");
    expect(s.slot.querySelector('[data-testid="flow-redirect-uri"]')?.textContent).toBe(started.redirect_uri);
    expect(document.activeElement?.getAttribute("data-testid")).toBe("cancel-flow");
    expect(s.running()).toBe(true);
    expect(seen.started).toBe(1);
    // A second Connect meanwhile is ignored.
    await s.connect(github, "github", "GitHub", null, "loopback");
    expect(backend.callsOf("connect_begin")).toHaveLength(1);

    done.resolve(account({ id: "new" }));
    await running;
    expect(seen.ended.map((a) => a?.id)).toEqual(["new"]);
    expect(seen.errors).toEqual([]);
    expect(seen.settled).toBe(1);
    expect(s.running()).toBe(false);
    expect(s.slot.childElementCount).toBe(0);
    expect(backend.callsOf("connect_begin")).toEqual([{ providerId: "github", scopes: ["repo"], redirect: null, account: null }]);
  });

  it("stops waiting at once on Cancel and reports no error for the cancelled finish", async () => {
    const done = deferred<Account>();
    const backend = new FakeBackend({
      connect_begin: () => started,
      connect_finish: () => done.promise,
      connect_cancel: () => null,
    });
    const { s, seen } = controller(backend);
    const running = s.connect(github, "github", "GitHub", null, "loopback");
    await flush();
    await s.cancel();
    expect(backend.callsOf("connect_cancel")).toEqual([{ flowId: "flow-1" }]);
    expect(s.slot.childElementCount).toBe(0);
    expect(s.running()).toBe(false);
    done.reject(uiError("cancelled", "the sign-in was cancelled"));
    await running;
    expect(seen.errors).toEqual([]);
    expect(seen.ended).toEqual([null]);
  });

  it("keeps waiting and says why when Cancel itself fails", async () => {
    const backend = new FakeBackend({
      connect_begin: () => started,
      connect_finish: () => new Promise(() => {}),
      connect_cancel: () => {
        throw uiError("internal", "could not stop the sign-in");
      },
    });
    const { s, seen } = controller(backend);
    void s.connect(github, "github", "GitHub", null, "loopback");
    await flush();
    await s.cancel();
    expect(s.running()).toBe(true);
    expect(s.slot.querySelector<HTMLButtonElement>('[data-testid="cancel-flow"]')?.disabled).toBe(false);
    expect(seen.errors).toHaveLength(1);
  });

  it("reports a failed start as an error, with no panel and no ended sign-in", async () => {
    const backend = new FakeBackend({
      connect_begin: () => {
        throw uiError("not_found", "no provider github");
      },
    });
    const { s, seen } = controller(backend);
    await s.connect(github, "github", "GitHub", null, "loopback");
    expect(seen.errors).toHaveLength(1);
    expect(seen.ended).toEqual([]);
    expect(seen.settled).toBe(1);
    expect(seen.running).toEqual([true, false]);
    expect(s.slot.childElementCount).toBe(0);
  });

  it("counts a device code down with the clock and offers the code to copy first", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let now = NOW;
    const backend = new FakeBackend({ device_begin: () => deviceStarted, device_finish: () => new Promise(() => {}) });
    const { s } = controller(backend, () => now);
    void s.connect(github, "github", "GitHub", null, "device");
    await flush();
    expect(s.slot.querySelector('[data-testid="device-user-code"]')?.textContent).toBe("WDJB-MJHT");
    expect(document.activeElement?.getAttribute("data-testid")).toBe("device-user-code-copy");
    const before = s.slot.querySelector('[data-testid="device-countdown"]')?.textContent;
    now += 61_000;
    vi.advanceTimersByTime(1000);
    const after = s.slot.querySelector('[data-testid="device-countdown"]')?.textContent;
    expect(before).toBe("15:00");
    expect(after).toBe("13:59");
  });
});
