// Generated from the Rust types by `cargo run -p ca-core --example gen-bindings`. Do not edit.

export type ProviderView = { id: string, name: string, builtin: boolean, configured: boolean, client_id: string, 
/**
 * The issuer (discovered providers) or the authorization endpoint's origin.
 */
issuer: string, scopes: Array<string>, scope_descriptions: { [key in string]: string }, capabilities: Capabilities, setup: SetupGuide | null, has_revocation: boolean, has_userinfo: boolean, 
/**
 * The user endpoint the test calls, and where the request box may send a token.
 */
userinfo_url: string | null, api_origins: Array<string>, 
/**
 * The redirect URIs sign-ins use, in order (exact ones where the provider has them).
 */
redirect_uris: Array<string>, 
/**
 * The app registered itself there (RFC 7591); it registers again when needed.
 */
registered: boolean, 
/**
 * Sign-ins bind the tokens to this device (DPoP) unless the person asks for bearer tokens.
 */
binds_tokens: boolean, };

export type Capabilities = { protocol: Protocol, pkce: Pkce, client_secret: SecretRule, 
/**
 * The ways a sign-in can come back, in the provider's order of preference.
 */
redirect_kinds: Array<ConnectKind>, device_flow: boolean, refresh_tokens: boolean, rotating_refresh_tokens: boolean, revocation: RevocationStyle, granted_scopes_from: GrantedScopesFrom, };

export type SetupGuide = { register_url: string, instructions: string, 
/**
 * Exactly what to paste as the redirect URI(s).
 */
redirect_uris: Array<string>, needs_client_secret: boolean, params: Array<SetupParam>, };

export type SetupParam = { name: string, label: string, default: string, value: string | null, help: string | null, };

export type ConnectKind = "loopback" | "custom_scheme" | "device";

export type RevocationStyle = "rfc7009" | "github_token_delete" | "bearer_self" | "none";

export type Protocol = "oauth2" | "oidc";

export type Pkce = "required" | "supported" | "unsupported";

export type SecretRule = "none" | "required" | "optional";

export type GrantedScopesFrom = "scope_space" | "scope_comma" | "scope_array" | "scopes_field" | "header" | "requested";

export type NewProvider = { issuer: string, 
/**
 * Empty: the app registers itself (RFC 7591), where the server offers it.
 */
client_id: string, name: string | null, 
/**
 * Empty: the OpenID scopes the server supports among openid, profile, email, offline_access.
 */
scopes: Array<string>, 
/**
 * Endpoints no metadata document gives can be entered by hand.
 */
userinfo_endpoint: string | null, revocation_endpoint: string | null, 
/**
 * The exact redirect URIs the server registered (empty: the app's defaults).
 */
redirect_uris: Array<string>, };

export type ProviderSettings = { provider_id: string, client_id: string, 
/**
 * e.g. `{"base": "https://gitlab.example.com"}` or `{"tenant": "organizations"}`.
 */
params: { [key in string]: string }, };

export type AccountStatus = "connected" | "expiring" | "offline" | "needs_reconnect" | "error" | "connecting" | "refreshing" | "disconnecting";

export type ScopesSource = "server" | "requested";

export type Policy = "allow" | "ask" | "deny";

export type Account = { id: string, provider: string, provider_name: string, display_name: string, subject: string, email: string | null, scopes_requested: Array<string>, scopes_granted: Array<string>, scopes_source: ScopesSource, status: AccountStatus, 
/**
 * RFC 3339, or null when the provider gave no lifetime.
 */
expires_at: string | null, 
/**
 * RFC 3339: when the sign-in ends however it is used (the server's word or the provider's
 * limit), or null when nobody says.
 */
sign_in_ends_at: string | null, 
/**
 * RFC 3339: when it would end if left unused; refreshing in time keeps it alive.
 */
idle_ends_at: string | null, last_error: string | null, 
/**
 * Who may read its token through the app.
 */
policy: Policy, 
/**
 * The resource (RFC 8707) its tokens are for, when connected by a resource URL; its test
 * call goes there.
 */
resource: string | null, 
/**
 * Its tokens are bound to a key on this device (DPoP): only the app can use them.
 */
bound: boolean, created_at: string, updated_at: string, };

export type AccountUpdate = { "kind": "refreshed", "account": Account } | { "kind": "needs_reconnect", "account": Account } | { "kind": "failed", "account": Account } | { "kind": "sign_in_ending", "account": Account } | { "kind": "failing", "account": Account } | { "kind": "recovered", "account": Account };

export type StartupSnapshot = { 
/**
 * When it was read (Unix ms): a page reloaded later ignores it and asks again.
 */
taken_at_ms: number, providers: Array<ProviderView>, accounts: Array<Account>, };

export type AppInfo = { 
/**
 * The profile this process runs in (`demo` for `scripts/demo.sh`), None for the default.
 */
profile: string | null, };

export type AppSettings = { close_action: CloseAction, 
/**
 * The scheduler refreshes nothing on its own (a read through `token` still refreshes).
 */
refresh_paused: boolean, };

export type CloseAction = "ask" | "keep_running" | "quit";

export type SettingsView = { settings: AppSettings, 
/**
 * The desktop can show a tray item, so the app can keep running with its window closed
 * (else closing the window quits, whatever `close_action` says).
 */
can_keep_running: boolean, 
/**
 * Whether the app starts at login (resident, with no window); null where that is not
 * offered (a profile other than the default, or no XDG autostart).
 */
start_at_login: boolean | null, };

export type AppNotice = { "kind": "close_asked" } | { "kind": "closing_quits" };

export type RedirectKind = "loopback" | "custom_scheme";

export type ConnectStarted = { flow_id: string, provider: string, 
/**
 * What the browser is opened on: a one-time launcher on this machine's loopback (only this
 * user may fetch it) that sends the browser on to the provider. The provider's own URL, with
 * the sign-in's `state`, is never shown, printed or put on a command line.
 */
browser_url: string, redirect_uri: string, timeout_secs: number, };

export type DeviceStarted = { flow_id: string, provider: string, user_code: string, verification_uri: string, verification_uri_complete: string | null, 
/**
 * What the browser is opened on when the server gave a `verification_uri_complete`: a
 * one-time launcher on this machine's loopback that only this user may fetch (that URL
 * carries the user code, so whoever opens it first could approve this sign-in).
 */
browser_url: string | null, expires_in_secs: number, interval_secs: number, };

export type ProtectedResource = { 
/**
 * The resource identifier: what tokens are asked for (`resource=`), and the test call.
 */
resource: string, 
/**
 * The authorization server the app signs in at (the metadata's first).
 */
authorization_server: string, 
/**
 * The scopes the resource says it understands.
 */
scopes: Array<string>, name: string | null, 
/**
 * The resource is on another origin than its authorization server: the person confirms
 * that it may receive that server's tokens.
 */
cross_origin: boolean, };

export type ResourcePlan = { found: ProtectedResource, 
/**
 * The provider already set up for its authorization server (none: it is added, the app
 * registering itself there).
 */
provider: string | null, 
/**
 * Some account is connected for this resource already: the person confirmed it then.
 */
confirmed_before: boolean, 
/**
 * The scopes a sign-in asks for: the provider's defaults and the resource's.
 */
scopes: Array<string>, };

export type ProviderRemoved = { provider: string, 
/**
 * Accounts disconnected first (`--disconnect-accounts`).
 */
disconnected: Array<string>, 
/**
 * The app's registration at the server was deleted (RFC 7592).
 */
registration_deleted: boolean, 
/**
 * What could not be undone at the server, in the person's words.
 */
warnings: Array<string>, };

export type ProbeResult = { url: string, method: string, status: number, latency_ms: number, headers: Array<[string, string]>, 
/**
 * The JSON body, or `{"text": …}` when it is not JSON or was cut.
 */
body: JsonValue, 
/**
 * The reply was larger than the app reads (1 MiB): `body` shows only its start.
 */
truncated: boolean, 
/**
 * A 403 `insufficient_scope` named these scopes: the window offers to add them (step-up).
 */
missing_scopes: Array<string> | null, };

export type DisconnectOutcome = { "kind": "revoked" } | { "kind": "removed_locally", warning: string, } | { "kind": "confirmation_required", message: string, manage_url: string | null, };

export type ForgetReport = { 
/**
 * Accounts revoked at their provider, as "Name (Provider)".
 */
revoked: Array<string>, 
/**
 * Accounts removed here whose access remains at the provider, with what to do there.
 */
not_revoked: Array<string>, 
/**
 * The folders (and the start-at-login entry) that were deleted.
 */
removed: Array<string>, };

export type AuditEvent = { id: number, 
/**
 * RFC 3339.
 */
at: string, kind: string, account_id: string | null, provider_id: string | null, detail: string, 
/**
 * For a token read: who read it.
 */
consumer: Consumer | null, 
/**
 * How many reads this entry stands for (1 for every other event).
 */
count: number, 
/**
 * RFC 3339: the latest read folded into this entry.
 */
last_at: string | null, };

export type Consumer = { kind: ReadKind, pid: number | null, 
/**
 * The asking program's executable.
 */
exe: string | null, 
/**
 * The executable of the program that started it (the shell, the IDE).
 */
parent_exe: string | null, 
/**
 * Its working directory.
 */
cwd: string | null, 
/**
 * Its terminal, if it has one.
 */
tty: string | null, };

export type ReadKind = "token" | "exec" | "git_credential" | "test" | "request";

export type LastRead = { account_id: string, 
/**
 * RFC 3339.
 */
at: string, 
/**
 * Reads folded into that entry.
 */
count: number, detail: string, consumer: Consumer, };

export type Purpose = { "kind": "token" } | { "kind": "git", host: string, path: string, } | { "kind": "loosen", policy: Policy, };

export type Question = { id: string, account_id: string, account_name: string, provider_name: string, purpose: Purpose, 
/**
 * The asking program's executable.
 */
program: string | null, 
/**
 * Its parents, nearest first, up to its session's leader and what started that.
 */
parents: Array<string>, cwd: string | null, 
/**
 * Unix ms: the question closes (as "no answer") then.
 */
deadline_ms: number, arm_after_ms: number, };

export type Choice = { "kind": "deny" } | { "kind": "once" } | { "kind": "session", minutes: number, } | { "kind": "always_git" };

export type LiveApproval = { id: string, account_id: string, 
/**
 * The program it is for, or null for "git, always".
 */
program: string | null, always_git: boolean, 
/**
 * RFC 3339: when it ends however it is used (null for "always").
 */
ends_at: string | null, 
/**
 * RFC 3339: when it ends if unused (null for "always").
 */
idle_ends_at: string | null, };

export type Remedy = { "kind": "configure_provider", provider: string, client_secret: boolean, } | { "kind": "check_client", provider_name: string, } | { "kind": "list_providers" } | { "kind": "list_accounts" } | { "kind": "disconnect_accounts_first", provider: string, } | { "kind": "enter_user_endpoint" } | { "kind": "use_browser_sign_in" } | { "kind": "reconnect", account: string, provider: string, } | { "kind": "unlock_keychain" } | { "kind": "install_secret_service" } | { "kind": "setup_git", host: string, } | { "kind": "use_request", account: string, } | { "kind": "allow_origin", origin: string, };

export type UiError = { code: string, message: string, hint: string | null, remedy: Remedy | null, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;
