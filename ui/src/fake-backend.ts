/**
 * Test support: a scripted stand-in for the Rust commands plus sample data.
 * Tests hand `backend.handle` to `mockIPC`; this module itself never imports Tauri.
 */
import type { Account, ProviderView, UiError } from "./bindings";

export type Args = Record<string, unknown>;
export type Call = { cmd: string; args: Args };
export type Handler = (args: Args) => unknown;

export class FakeBackend {
  readonly calls: Call[] = [];
  private readonly handlers = new Map<string, Handler>();

  constructor(handlers: Record<string, Handler> = {}) {
    for (const [cmd, f] of Object.entries(handlers)) this.handlers.set(cmd, f);
  }

  on(cmd: string, handler: Handler): this {
    this.handlers.set(cmd, handler);
    return this;
  }

  /** Pass to mockIPC. Throwing here makes invoke() reject with the thrown value. */
  readonly handle = (cmd: string, payload?: unknown): unknown => {
    const args = (payload ?? {}) as Args;
    this.calls.push({ cmd, args });
    const handler = this.handlers.get(cmd);
    if (!handler) {
      const err: UiError = { code: "unknown_command", message: `no fake for ${cmd}`, hint: null };
      throw err;
    }
    return handler(args);
  };

  callsOf(cmd: string): Args[] {
    return this.calls.filter((c) => c.cmd === cmd).map((c) => c.args);
  }

  commands(): string[] {
    return this.calls.map((c) => c.cmd);
  }
}

export function uiError(code: string, message: string, hint: string | null = null): UiError {
  return { code, message, hint };
}

export type Deferred<T> = {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
};

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const NOW = Date.parse("2025-06-01T12:00:00Z");

export function provider(overrides: Partial<ProviderView> = {}): ProviderView {
  return {
    id: "example",
    name: "Example ID",
    issuer: "https://id.example.com",
    client_id: "client-123",
    scopes: ["openid", "email"],
    has_revocation: true,
    has_userinfo: true,
    ...overrides,
  };
}

export function account(overrides: Partial<Account> = {}): Account {
  return {
    id: "acc-1",
    provider: "example",
    provider_name: "Example ID",
    display_name: "Ada Lovelace",
    subject: "sub-1",
    email: "ada@example.com",
    scopes_requested: ["openid", "email"],
    scopes_granted: ["openid", "email"],
    scopes_source: "server",
    status: "connected",
    expires_at: new Date(NOW + 59 * 60_000 + 30_000).toISOString(),
    last_error: null,
    created_at: "2025-05-01T10:00:00Z",
    updated_at: "2025-06-01T11:00:00Z",
    ...overrides,
  };
}
