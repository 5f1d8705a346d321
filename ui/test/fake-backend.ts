/**
 * Test support: a scripted stand-in for the Rust commands plus sample data.
 * Tests hand `backend.handle` to `mockIPC`; this module itself never imports Tauri.
 */
import type { Account, ProviderView, Remedy, UiError } from "../src/bindings";

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
      const err: UiError = { code: "unknown_command", message: `no fake for ${cmd}`, hint: null, remedy: null };
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

export function uiError(code: string, message: string, hint: string | null = null, remedy: Remedy | null = null): UiError {
  return { code, message, hint, remedy };
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

const OIDC_DESCRIPTIONS: Record<string, string> = {
  openid: "Sign you in and know who you are",
  profile: "See your name and profile details",
  email: "See your e-mail address",
  offline_access: "Stay connected when you are not using the app (refresh token)",
};

/** A provider added by its issuer URL (configured, no setup guide), as `list_providers` returns it. */
export function provider(overrides: Partial<ProviderView> = {}): ProviderView {
  return {
    id: "example",
    name: "Example ID",
    builtin: false,
    configured: true,
    issuer: "https://id.example.com",
    client_id: "client-123",
    scopes: ["openid", "email"],
    scope_descriptions: { ...OIDC_DESCRIPTIONS },
    capabilities: {
      protocol: "oidc",
      pkce: "required",
      client_secret: "none",
      redirect_kinds: ["loopback"],
      device_flow: false,
      refresh_tokens: true,
      rotating_refresh_tokens: true,
      revocation: "rfc7009",
      granted_scopes_from: "scope_space",
    },
    setup: null,
    has_revocation: true,
    has_userinfo: true,
    userinfo_url: "https://id.example.test/me",
    api_origins: ["https://id.example.test"],
    redirect_uris: ["http://127.0.0.1/callback"],
    registered: false,
    binds_tokens: false,
    ...overrides,
  };
}

/** Built-in providers shaped like the Rust catalog's (GitHub, GitLab, Microsoft), unconfigured unless overridden. */
export function builtin(id: "github" | "gitlab" | "microsoft", overrides: Partial<ProviderView> = {}): ProviderView {
  const base: Record<typeof id, ProviderView> = {
    github: provider({
      id: "github",
      name: "GitHub",
      builtin: true,
      configured: false,
      client_id: "",
      issuer: "https://github.com",
      scopes: ["read:user", "user:email"],
      scope_descriptions: {
        "read:user": "Read your profile information",
        "user:email": "See your email addresses",
        repo: "Full access to your public and private repositories",
      },
      capabilities: {
        protocol: "oauth2",
        pkce: "supported",
        client_secret: "required",
        redirect_kinds: ["loopback", "custom_scheme", "device"],
        device_flow: true,
        refresh_tokens: false,
        rotating_refresh_tokens: true,
        revocation: "github_token_delete",
        granted_scopes_from: "header",
      },
      setup: {
        register_url: "https://github.com/settings/applications/new",
        instructions: "Register a new OAuth App with the callback URL http://127.0.0.1/callback.",
        redirect_uris: ["http://127.0.0.1/callback", "io.github.connectedaccounts:/oauth/callback"],
        needs_client_secret: true,
        params: [],
      },
    }),
    gitlab: provider({
      id: "gitlab",
      name: "GitLab",
      builtin: true,
      configured: false,
      client_id: "",
      issuer: "https://gitlab.com",
      scopes: ["read_user"],
      scope_descriptions: { read_user: "Read your profile, including your email address" },
      capabilities: {
        protocol: "oauth2",
        pkce: "supported",
        client_secret: "none",
        redirect_kinds: ["loopback", "custom_scheme", "device"],
        device_flow: true,
        refresh_tokens: true,
        rotating_refresh_tokens: true,
        revocation: "rfc7009",
        granted_scopes_from: "scope_space",
      },
      setup: {
        register_url: "https://gitlab.com/-/user_settings/applications",
        instructions: "Add a new application under User Settings › Applications and untick \"Confidential\".",
        redirect_uris: ["http://127.0.0.1/callback", "io.github.connectedaccounts:/oauth/callback"],
        needs_client_secret: false,
        params: [
          {
            name: "base",
            label: "GitLab URL",
            default: "https://gitlab.com",
            value: null,
            help: "For a self-managed instance, its address, e.g. https://gitlab.example.com",
          },
        ],
      },
    }),
    microsoft: provider({
      id: "microsoft",
      name: "Microsoft",
      builtin: true,
      configured: false,
      client_id: "",
      issuer: "https://login.microsoftonline.com",
      scopes: ["openid", "offline_access", "User.Read"],
      scope_descriptions: {
        openid: "Sign you in",
        offline_access: "Stay connected when you are not using the app",
        "User.Read": "Sign you in and read your profile",
      },
      capabilities: {
        protocol: "oauth2",
        pkce: "supported",
        client_secret: "none",
        redirect_kinds: ["loopback", "custom_scheme", "device"],
        device_flow: true,
        refresh_tokens: true,
        rotating_refresh_tokens: true,
        revocation: "none",
        granted_scopes_from: "scope_space",
      },
      setup: {
        register_url: "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade",
        instructions: "Create a new app registration and add the platform \"Mobile and desktop applications\".",
        redirect_uris: ["http://localhost/callback", "io.github.connectedaccounts:/oauth/callback"],
        needs_client_secret: false,
        params: [{ name: "tenant", label: "Tenant", default: "common", value: null, help: "common, organizations, consumers or a tenant ID" }],
      },
      has_revocation: false,
    }),
  };
  return { ...base[id], ...overrides };
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
    sign_in_ends_at: null,
    idle_ends_at: null,
    last_error: null,
    policy: "allow",
    resource: null,
    bound: false,
    created_at: "2025-05-01T10:00:00Z",
    updated_at: "2025-06-01T11:00:00Z",
    ...overrides,
  };
}
