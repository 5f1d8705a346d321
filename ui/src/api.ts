/**
 * The one door to the Rust backend: typed wrappers over the app's Tauri commands.
 * No other module imports `@tauri-apps/api` (a test enforces it).
 * Command names are snake_case; argument keys are camelCase, as Tauri 2 maps them.
 */
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  Account,
  AppInfo,
  AccountUpdate,
  AppNotice,
  AuditEvent,
  Choice,
  CloseAction,
  ConnectStarted,
  DeviceStarted,
  DisconnectOutcome,
  ForgetReport,
  LastRead,
  LiveApproval,
  NewProvider,
  Policy,
  ProbeResult,
  ProviderSettings,
  ProviderView,
  Question,
  RedirectKind,
  Remedy,
  ResourcePlan,
  SettingsView,
  StartupSnapshot,
  UiError,
} from "./bindings";

/** How old a start-up snapshot may be and still be shown (a reloaded page asks again). */
const SNAPSHOT_FRESH_MS = 10_000;

/**
 * The providers and accounts the backend handed the page before its scripts ran (the window
 * shows them in its first paint), or a fresh read over IPC when there is none: a page opened
 * by a dev server or reloaded long after start. The snapshot is used once.
 */
export async function startupLists(now: number = Date.now()): Promise<{ providers: ProviderView[]; accounts: Account[] }> {
  const holder = window as { __CA_STARTUP__?: StartupSnapshot };
  const snapshot = holder.__CA_STARTUP__;
  delete holder.__CA_STARTUP__;
  // The backend injects it into every load of the page; only the first one may use it.
  const nav = performance.getEntriesByType?.("navigation")[0] as PerformanceNavigationTiming | undefined;
  const firstLoad = !nav || nav.type === "navigate";
  if (snapshot && firstLoad && Math.abs(now - snapshot.taken_at_ms) <= SNAPSHOT_FRESH_MS) {
    return { providers: snapshot.providers, accounts: snapshot.accounts };
  }
  const [providers, accounts] = await Promise.all([listProviders(), listAccounts()]);
  return { providers, accounts };
}

/**
 * Background changes (the refresh scheduler's), pushed by the backend over a channel: the only
 * push the window gets (it holds no event permission). Each carries one account's metadata.
 */
export function watchAccounts(onUpdate: (update: AccountUpdate) => void): Promise<void> {
  const channel = new Channel<AccountUpdate>();
  channel.onmessage = onUpdate;
  return invoke<void>("watch_accounts", { onUpdate: channel });
}

/** What the app asks of the page: the close question (resident mode). */
export function watchApp(onNotice: (notice: AppNotice) => void): Promise<void> {
  const channel = new Channel<AppNotice>();
  channel.onmessage = onNotice;
  return invoke<void>("watch_app", { onNotice: channel });
}

/** Questions for the person (policy `ask`): every one still open, then each new one. */
export function watchApprovals(onQuestion: (question: Question) => void): Promise<void> {
  const channel = new Channel<Question>();
  channel.onmessage = onQuestion;
  return invoke<void>("watch_approvals", { onQuestion: channel });
}

export function answerApproval(id: string, choice: Choice): Promise<void> {
  return invoke<void>("answer_approval", { id, choice });
}

/** The approvals in force: for one account, or all (null). */
export function listApprovals(accountId: string | null): Promise<LiveApproval[]> {
  return invoke<LiveApproval[]>("list_approvals", { accountId });
}

/** Ends an approval (that program is asked again next time); returns those left. */
export function endApproval(id: string): Promise<LiveApproval[]> {
  return invoke<LiveApproval[]>("end_approval", { id });
}

/** The app's settings, and whether this desktop lets it keep running with its window closed. */
export function appSettings(): Promise<SettingsView> {
  return invoke<SettingsView>("app_settings");
}

export function setCloseAction(action: CloseAction): Promise<SettingsView> {
  return invoke<SettingsView>("set_close_action", { action });
}

export function setRefreshPaused(paused: boolean): Promise<SettingsView> {
  return invoke<SettingsView>("set_refresh_paused", { paused });
}

/** Writes or removes the login entry that starts the app in the background. */
export function setStartAtLogin(on: boolean): Promise<SettingsView> {
  return invoke<SettingsView>("set_start_at_login", { on });
}

/** The answer to the close question; it becomes the setting, and the window closes. */
export function answerClose(keepRunning: boolean): Promise<void> {
  return invoke<void>("answer_close", { keepRunning });
}

/** Disconnects every account and deletes all of this app's data (the app must quit after). */
export function forgetAll(): Promise<ForgetReport> {
  return invoke<ForgetReport>("forget_all");
}

/** The first list is built: the backend shows the window (it starts hidden, never blank). */
export function windowReady(): Promise<void> {
  return invoke<void>("window_ready");
}

export function quitApp(): Promise<void> {
  return invoke<void>("quit_app");
}

export function listProviders(): Promise<ProviderView[]> {
  return invoke<ProviderView[]>("list_providers");
}

export function addProvider(provider: NewProvider): Promise<ProviderView> {
  return invoke<ProviderView>("add_provider", { provider });
}

/**
 * Sets a built-in provider's client ID and parameters. A non-empty `clientSecret` is stored in
 * the system keychain; null (or blank) keeps whatever secret is stored already.
 */
export function configureProvider(settings: ProviderSettings, clientSecret: string | null): Promise<ProviderView> {
  return invoke<ProviderView>("configure_provider", { settings, clientSecret });
}

/** Sets who may read the account's token (a click in the window may also loosen it). */
export function setPolicy(accountId: string, policy: Policy): Promise<Account> {
  return invoke<Account>("set_policy", { accountId, policy });
}

export function listAccounts(): Promise<Account[]> {
  return invoke<Account[]>("list_accounts");
}

/**
 * Starts a browser sign-in; Rust opens the system browser itself. `redirect` picks how the
 * browser hands the result back (a loopback port or the app's own scheme); null means the
 * provider's default, the first of its `redirect_kinds`.
 */
/** `account`: the account being signed in again ("Connect again"), which the server is told to expect. */
export function connectBegin(
  providerId: string,
  scopes: string[] | null,
  redirect: RedirectKind | null,
  account: string | null = null,
  bearer = false,
): Promise<ConnectStarted> {
  // Sent only when asked for: tokens bound to this device are the default where the server offers it.
  return invoke<ConnectStarted>("connect_begin", { providerId, scopes, redirect, account, ...(bearer ? { bearer } : {}) });
}

/** "Add by URL": what the resource at `url` names as its authorization server (RFC 9728). */
export function planResource(url: string): Promise<ResourcePlan> {
  return invoke<ResourcePlan>("plan_resource", { url });
}

/**
 * Starts a browser sign-in for the resource at `url`, its server added where needed.
 * `confirmed`: the person agreed that a resource on another site receives that server's tokens.
 */
export function connectResourceBegin(url: string, redirect: RedirectKind | null, confirmed: boolean): Promise<ConnectStarted> {
  return invoke<ConnectStarted>("connect_resource_begin", { url, redirect, confirmed });
}

/** Resolves when the browser callback arrives; rejects on cancel, timeout or error. */
export function connectFinish(flowId: string): Promise<Account> {
  return invoke<Account>("connect_finish", { flowId });
}

/** Starts a device sign-in (a code entered on any device); Rust opens the browser at the verification page. */
export function deviceBegin(providerId: string, scopes: string[] | null): Promise<DeviceStarted> {
  return invoke<DeviceStarted>("device_begin", { providerId, scopes });
}

/** Polls until the code is entered; rejects on cancel, expiry, denial or error. */
export function deviceFinish(flowId: string): Promise<Account> {
  return invoke<Account>("device_finish", { flowId });
}

/** Cancels a running browser or device sign-in. */
export function connectCancel(flowId: string): Promise<void> {
  return invoke<void>("connect_cancel", { flowId });
}

export function refreshAccount(accountId: string): Promise<Account> {
  return invoke<Account>("refresh_account", { accountId });
}

/** Runs a test request inside the app; the token never reaches the webview. */
export function testAccount(accountId: string): Promise<ProbeResult> {
  return invoke<ProbeResult>("test_account", { accountId });
}

/** Which profile the app runs in. */
export function appInfo(): Promise<AppInfo> {
  return invoke<AppInfo>("app_info");
}

/** A GET of `url` (on the provider's API) with the account's token, run in the app. */
export function requestAccount(accountId: string, url: string): Promise<ProbeResult> {
  return invoke<ProbeResult>("request_account", { accountId, url });
}

export function disconnectAccount(accountId: string, confirmed: boolean): Promise<DisconnectOutcome> {
  return invoke<DisconnectOutcome>("disconnect_account", { accountId, confirmed });
}

/** Settles accounts left mid-action by a previous run; returns the refreshed list. */
export function recoverInterrupted(): Promise<Account[]> {
  return invoke<Account[]>("recover_interrupted");
}

export function auditLog(limit: number): Promise<AuditEvent[]> {
  return invoke<AuditEvent[]>("audit_log", { limit });
}

/** Each account's latest token read by a local program. */
export function lastReads(): Promise<LastRead[]> {
  return invoke<LastRead[]>("last_reads");
}

/** What a failed call means, in words for the error banner, and the core's remedy if any. */
export type ErrorText = { message: string; hint: string | null; remedy?: Remedy | null };

/** The label of the banner's button that applies a remedy, where the window can apply it. */
export function remedyAction(r: Remedy): string | null {
  switch (r.kind) {
    case "configure_provider":
      return "Set up the provider";
    case "check_client":
      return "Open its settings";
    case "list_providers":
    case "enter_user_endpoint":
      return "Open Providers";
    case "list_accounts":
      return "Open Accounts";
    case "reconnect":
      return "Connect again";
    default:
      // Done outside the window: the keychain, the browser choice, git's set-up.
      return null;
  }
}

export function isUiError(e: unknown): e is UiError {
  if (typeof e !== "object" || e === null) return false;
  const o = e as Record<string, unknown>;
  return (
    typeof o.code === "string" &&
    typeof o.message === "string" &&
    (o.hint === null || o.hint === undefined || typeof o.hint === "string")
  );
}

/** True when a rejection means "the user cancelled", which needs no banner. */
export function isCancelled(e: unknown): boolean {
  return isUiError(e) && e.code === "cancelled";
}

/** A remedy from the core, worded for the window (the command line words it as a command). */
export function remedyText(r: Remedy): string {
  switch (r.kind) {
    case "configure_provider":
      return r.client_secret
        ? "Set it up under Providers: paste the client ID and client secret of the app you registered there."
        : "Set it up under Providers: paste the client ID of the app you registered there.";
    case "check_client":
      return `Check the client ID and secret set up for ${r.provider_name} under Providers.`;
    case "list_providers":
      return "Choose one of the providers listed, or add one by its issuer URL.";
    case "list_accounts":
      return "Choose the account from the list.";
    case "disconnect_accounts_first":
      return "Disconnect its accounts first.";
    case "enter_user_endpoint":
      return "Enter its user endpoint (userinfo URL) by hand when adding it.";
    case "use_browser_sign_in":
      return "Sign in through the browser instead.";
    case "reconnect":
      return "Connect the account again.";
    case "unlock_keychain":
      return "Unlock your keychain (log in again, or open Passwords and Keys), then try again.";
    case "install_secret_service":
      return "Connected Accounts keeps tokens only in the system keychain: install and unlock a Secret Service such as GNOME Keyring, then log out and in again. It never stores tokens in a plain file.";
    case "setup_git":
      return `Choose the account git uses at ${r.host} (connected-accounts setup-git).`;
    case "allow_origin":
      return "Use an address on the account's API.";
    case "use_request":
      return "Use the account's request box: its tokens are bound to this device.";
  }
}

export function errorText(e: unknown): ErrorText {
  if (isUiError(e)) {
    const remedy = e.remedy ? remedyText(e.remedy) : null;
    const hint = [e.hint, remedy].filter((t): t is string => typeof t === "string" && t !== "");
    return { message: e.message || e.code, hint: hint.length > 0 ? hint.join(" ") : null, remedy: e.remedy };
  }
  if (e instanceof Error) {
    return { message: e.message || e.name, hint: null };
  }
  if (typeof e === "string" && e.trim() !== "") {
    return { message: e, hint: null };
  }
  if (typeof e === "object" && e !== null) {
    const m = (e as Record<string, unknown>).message;
    if (typeof m === "string" && m !== "") return { message: m, hint: null };
  }
  return {
    message: "Something went wrong and the app gave no details.",
    hint: "Try again; if it keeps happening, look at the Activity list below.",
  };
}
