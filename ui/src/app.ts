/**
 * The window's controller: holds what is on screen, runs the user's actions
 * through api.ts, and re-renders the parts that changed.
 */
import * as api from "./api";
import type {
  Account,
  AccountUpdate,
  AuditEvent,
  ConnectStarted,
  DeviceStarted,
  DisconnectOutcome,
  ForgetReport,
  LastRead,
  NewProvider,
  ProbeResult,
  ProviderSettings,
  ProviderView,
  RedirectKind,
} from "./bindings";
import { connectKinds, effectiveKind, redirectArg, type ConnectKind } from "./connect-kinds";
import { confirmDialog } from "./dialogs";
import { button, h, replaceChildren } from "./dom";
import { ProviderForm } from "./provider-form";
import { providerRow, setupRow, type SetupControls } from "./provider-rows";
import type { SetupDraft } from "./provider-setup";
import {
  accountLabel,
  accountRow,
  auditList,
  devicePanel,
  flowPanel,
  refreshExpiries,
  refreshLastReads,
  type RowAction,
} from "./render";
import { parseScopes, type ScopeDescriptions } from "./scopes";
import { TestView } from "./test-view";
import { countdown } from "./time";

export const AUDIT_LIMIT = 50;
const HIGHLIGHT_MS = 4000;

/** A running sign-in: in the browser (loopback or app-scheme redirect) or with a code on another device. */
type Flow = (
  | { kind: "browser"; started: ConnectStarted; redirect: RedirectKind }
  | { kind: "device"; started: DeviceStarted }
) & {
  providerName: string;
  deadline: number;
  cancelling: boolean;
  cancelled: boolean;
};

type Message = { message: string; hint: string | null };
type Notice = { text: string; tone: "info" | "warn" };
type FocusKey = { accountId: string; testId: string };

export type AppOptions = {
  /** Clock for expiry and countdown text (tests pin it). */
  now?: () => number;
};

/** Accounts shown at first, and added by each "Show more". */
export const ACCOUNTS_PAGE = 100;

export type AppHandle = {
  /** Settles when start-up (lists, recovery, activity) has finished. */
  started: Promise<void>;
  /** Stops the local timers (tests call this between runs). */
  stop(): void;
};

export function startApp(root: HTMLElement, options: AppOptions = {}): AppHandle {
  const app = new App(root, options.now ?? (() => Date.now()));
  return { started: app.start(), stop: () => app.stop() };
}

class App {
  private providers: ProviderView[] = [];
  private accounts: Account[] = [];
  private audit: AuditEvent[] = [];
  private lastReads = new Map<string, LastRead>();
  private auditError: string | null = null;
  private busy = new Map<string, RowAction>();
  private scopeDrafts = new Map<string, string>();
  /** How the user chose to connect each provider, when not its default. */
  private kindChoices = new Map<string, ConnectKind>();
  /** Providers whose setup or settings panel is unfolded. */
  private openSetup = new Set<string>();
  /** What was typed into setup forms (never the client secret), by provider. */
  private setupDrafts = new Map<string, SetupDraft>();
  /** Accounts whose "What this account can do" list is unfolded. */
  private openScopeDetails = new Set<string>();
  private flow: Flow | null = null;
  private flowStarting = false;
  private error: Message | null = null;
  private notice: Notice | null = null;
  private highlight: string | null = null;
  private focusKey: FocusKey | null = null;
  private loaded = false;

  private accountsSeq = 0;
  /** A pending coalesced render of background changes. */
  private renderTimer: number | null = null;
  /** How many accounts the list shows (it grows a page at a time). */
  private shownAccounts = ACCOUNTS_PAGE;
  private auditSeq = 0;
  private timers: number[] = [];
  private countdownTimer: number | null = null;
  private highlightTimer: number | null = null;

  // Fixed regions of the page, built once.
  private readonly messages = h("div", { class: "messages" });
  private readonly flowSlot = h("div", { class: "flow-slot" });
  private readonly accountList = h("div", { class: "list-slot", "data-testid": "accounts" });
  private readonly providerList = h("div", { class: "list-slot", "data-testid": "providers" });
  private readonly auditSlot = h("div", { class: "audit-slot" });
  private readonly providerForm = new ProviderForm((p) => this.addProvider(p));

  constructor(
    private readonly root: HTMLElement,
    private readonly now: () => number,
  ) {}

  // ---- start-up ---------------------------------------------------------

  async start(): Promise<void> {
    this.buildSkeleton();
    this.accountList.appendChild(h("p", { class: "empty" }, "Loading accounts…"));
    try {
      // Usually already in the page (the backend hands it over before scripts run), so the
      // first paint has the list rather than a loading line.
      const { providers, accounts } = await api.startupLists(this.now());
      this.providers = providers;
      this.accounts = accounts;
      this.loaded = true;
    } catch (e) {
      this.showError(e);
      this.loaded = true;
      this.renderProviders();
      this.renderAccounts();
      document.body.dataset.ready = "error";
      this.showWindow();
      return;
    }
    this.renderProviders();
    this.renderAccounts();
    document.body.dataset.ready = "accounts";
    performance.mark("ca:list");
    this.showWindow();

    // Expiry text is computed locally; refresh it once a minute. No backend polling.
    this.timers.push(window.setInterval(() => refreshExpiries(this.accountList, this.accounts, this.now()), 60_000));

    await afterPaint();
    // Subscribed before the re-read below, so no background change falls between the two.
    await api.watchAccounts((update) => this.applyBackgroundUpdate(update)).catch((e: unknown) => {
      // The list still works; it just won't change by itself until the next action.
      console.warn("background updates unavailable", e);
    });
    try {
      const seq = ++this.accountsSeq;
      const recovered = await api.recoverInterrupted();
      // Usually nothing was interrupted: then the list on screen stays as it is (no rebuild,
      // no second paint). This read also covers a change between the snapshot and the watch.
      if (seq === this.accountsSeq && !sameAccounts(this.accounts, recovered)) {
        this.accounts = recovered;
        this.renderAccounts();
      }
    } catch (e) {
      this.showError(e);
    }
    await this.loadAudit();
  }

  /** The window starts hidden; it appears now, with the list (the backend shows it anyway
   * after a few seconds, so a failure here only delays it). */
  private showWindow(): void {
    api.windowReady().catch((e: unknown) => console.warn("could not show the window", e));
  }

  stop(): void {
    if (this.renderTimer !== null) window.clearTimeout(this.renderTimer);
    this.renderTimer = null;
    for (const t of this.timers) window.clearInterval(t);
    this.timers = [];
    this.stopCountdown();
    if (this.highlightTimer !== null) window.clearTimeout(this.highlightTimer);
    this.highlightTimer = null;
  }

  private buildSkeleton(): void {
    const activity = h(
      "details",
      { class: "activity", "data-testid": "activity" },
      h("summary", {}, h("h2", { class: "section-title inline" }, "Activity")),
      this.auditSlot,
    );
    replaceChildren(
      this.root,
      h(
        "header",
        { class: "app-header" },
        h("h1", {}, "Connected Accounts"),
        h(
          "p",
          { class: "tagline" },
          "Your OAuth sign-ins on this computer. Tokens stay in the system keychain and never reach this window.",
        ),
      ),
      this.messages,
      h(
        "main",
        { class: "content" },
        this.flowSlot,
        h(
          "section",
          { class: "section", "aria-labelledby": "accounts-title" },
          h("div", { class: "section-head" }, h("h2", { class: "section-title", id: "accounts-title" }, "Accounts")),
          this.accountList,
        ),
        h(
          "section",
          { class: "section", "aria-labelledby": "providers-title" },
          h(
            "div",
            { class: "section-head" },
            h("h2", { class: "section-title", id: "providers-title" }, "Providers"),
            this.providerForm.opener,
          ),
          this.providerForm.form,
          this.providerList,
        ),
        activity,
        h(
          "section",
          { class: "section your-data", "aria-labelledby": "data-title" },
          h("h2", { class: "section-title", id: "data-title" }, "Your data"),
          h(
            "p",
            { class: "hint" },
            "Uninstalling Connected Accounts leaves your accounts and their tokens in place. To take everything back, remove it here: every account is disconnected (revoked where the provider allows), this app’s keychain entries, database and logs are deleted.",
          ),
          button("Remove all my data…", { class: "btn btn--danger", "data-testid": "forget-all" }, () => void this.forgetAll()),
        ),
      ),
    );
  }

  /** Removes everything after a confirmation, then leaves only a report and a Quit button. */
  private async forgetAll(): Promise<void> {
    const n = this.accounts.length;
    const yes = await confirmDialog(this.root, {
      title: "Remove all your data?",
      message: `This disconnects ${n === 1 ? "your account" : `all ${n} accounts`}, deletes their tokens from the keychain and deletes this app’s database and logs. There is no undo.`,
      yes: "Remove everything",
      no: "Keep my data",
    });
    if (!yes) return;
    let report: ForgetReport;
    try {
      report = await api.forgetAll();
    } catch (e) {
      this.showError(e);
      await this.reloadAccounts();
      return;
    }
    this.stop();
    const list = (title: string, items: string[], testid: string) =>
      items.length === 0
        ? null
        : h("div", {}, h("h3", {}, title), h("ul", { "data-testid": testid }, ...items.map((i) => h("li", {}, i))));
    replaceChildren(
      this.root,
      h(
        "main",
        { class: "content forgotten", "data-testid": "forgotten" },
        h("h1", {}, "All your data is removed"),
        list("Revoked at the provider", report.revoked, "forgotten-revoked"),
        list("Removed here; access remains at the provider", report.not_revoked, "forgotten-not-revoked"),
        list("Deleted folders", report.removed, "forgotten-removed"),
        button("Quit Connected Accounts", { class: "btn btn--primary", "data-testid": "quit" }, () => void api.quitApp()),
      ),
    );
  }

  // ---- rendering --------------------------------------------------------

  private renderAccounts(): void {
    if (!this.loaded) return;
    const hadFocusInside = this.root.contains(document.activeElement) && this.accountList.contains(document.activeElement);
    if (hadFocusInside) this.focusKey = focusKeyOf(document.activeElement) ?? this.focusKey;

    if (this.accounts.length === 0) {
      replaceChildren(
        this.accountList,
        h(
          "p",
          { class: "empty", "data-testid": "accounts-empty" },
          this.providers.some((p) => p.configured)
            ? "No accounts yet — connect one from a provider below."
            : "No accounts yet — set up a provider below, then connect an account with it.",
        ),
      );
      return;
    }
    const now = this.now();
    const flowActive = this.flowRunning();
    const list = h("ul", { class: "accounts", "data-testid": "account-list" });
    // A long list is shown a page at a time (rows are built, not merely hidden): start-up with
    // a thousand accounts paints as fast as with a hundred. A just-connected account always shows.
    const visible = this.accounts.filter((a, i) => i < this.shownAccounts || a.id === this.highlight);
    for (const account of visible) {
      list.appendChild(
        accountRow(account, {
          now,
          busy: this.busy.get(account.id),
          highlight: this.highlight === account.id,
          flowActive,
          scopeDescriptions: this.scopeDescriptionsOf(account.provider),
          scopeDetailsOpen: this.openScopeDetails.has(account.id),
          onScopeDetails: (open) => {
            if (open) this.openScopeDetails.add(account.id);
            else this.openScopeDetails.delete(account.id);
          },
          lastRead: this.lastReads.get(account.id),
          onTest: () => void this.test(account.id),
          onRefresh: () => void this.refresh(account.id),
          onDisconnect: () => void this.disconnect(account.id),
          onReconnect: () =>
            void this.connect(
              account.provider,
              account.provider_name,
              account.scopes_requested.length > 0 ? account.scopes_requested : null,
              this.kindOf(account.provider),
            ),
        }),
      );
    }
    const hidden = this.accounts.length - visible.length;
    const more =
      hidden > 0
        ? button(
            `Show ${Math.min(hidden, ACCOUNTS_PAGE)} more (${this.accounts.length} accounts in all)`,
            { class: "btn more", "data-testid": "accounts-more" },
            () => {
              this.shownAccounts += ACCOUNTS_PAGE;
              this.renderAccounts();
            },
          )
        : null;
    replaceChildren(this.accountList, list, ...(more ? [more] : []));
    this.restoreFocus();
  }

  /** Puts focus back on the same button of the same row after a re-render, once it is usable again. */
  private restoreFocus(): void {
    const key = this.focusKey;
    if (!key) return;
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) {
      if (!this.accountList.contains(active)) this.focusKey = null;
      return;
    }
    for (const row of this.accountList.querySelectorAll<HTMLElement>("[data-account-id]")) {
      if (row.dataset.accountId !== key.accountId) continue;
      const target = [...row.querySelectorAll<HTMLElement>("[data-testid]")].find((el) => el.dataset.testid === key.testId);
      if (target && !(target as HTMLButtonElement).disabled) {
        target.focus();
        this.focusKey = null;
      }
      return;
    }
    this.focusKey = null;
  }

  private scopeDescriptionsOf(providerId: string): ScopeDescriptions {
    return this.providers.find((p) => p.id === providerId)?.scope_descriptions ?? {};
  }

  /** Configured providers (with Connect) first, then the built-ins still to be set up. */
  private renderProviders(): void {
    if (!this.loaded) return;
    const configured = this.providers.filter((p) => p.configured);
    const waiting = this.providers.filter((p) => !p.configured);
    const parts: HTMLElement[] = [];
    if (configured.length === 0) {
      parts.push(
        h(
          "p",
          { class: "empty", "data-testid": "providers-empty" },
          waiting.length > 0
            ? "No provider is set up yet — pick one under “Set up a provider” below, or use “Add provider” with an issuer URL."
            : "No providers yet — use “Add provider” with the issuer URL and client ID from the provider’s developer console.",
        ),
      );
    } else {
      const flowActive = this.flowRunning();
      const list = h("ul", { class: "providers", "data-testid": "provider-list" });
      for (const provider of configured) {
        const kinds = connectKinds(provider);
        list.appendChild(
          providerRow(provider, {
            draftScopes: this.scopeDrafts.get(provider.id) ?? "",
            flowActive,
            onDraft: (text) => this.scopeDrafts.set(provider.id, text),
            kinds,
            kind: this.kindOf(provider.id),
            onKind: (kind) => this.chooseKind(provider.id, kind),
            onConnect: (text, kind) => {
              const scopes = parseScopes(text);
              void this.connect(provider.id, provider.name, scopes.length > 0 ? scopes : null, kind);
            },
            settings: this.setupControls(provider),
          }),
        );
      }
      parts.push(list);
    }
    if (waiting.length > 0) {
      parts.push(
        h(
          "section",
          { class: "setup-group", "data-testid": "setup-providers", "aria-labelledby": "setup-title" },
          h("h3", { class: "group-title", id: "setup-title" }, "Set up a provider"),
          h(
            "p",
            { class: "small muted" },
            "Register this app with the provider once, paste its client ID here, then connect as many accounts as you like.",
          ),
          h(
            "ul",
            { class: "providers providers--setup", "data-testid": "setup-list" },
            ...waiting.map((p) => setupRow(p, this.setupControls(p))),
          ),
        ),
      );
    }
    replaceChildren(this.providerList, ...parts);
  }

  /** How Connect signs in to this provider: the user's choice, or the provider's default. */
  private kindOf(providerId: string): ConnectKind {
    return effectiveKind(connectKinds(this.providers.find((p) => p.id === providerId)), this.kindChoices.get(providerId));
  }

  private chooseKind(providerId: string, kind: ConnectKind): void {
    const kinds = connectKinds(this.providers.find((p) => p.id === providerId));
    if (kind === kinds[0]) this.kindChoices.delete(providerId);
    else this.kindChoices.set(providerId, kind);
  }

  private setupControls(provider: ProviderView): SetupControls {
    const id = provider.id;
    return {
      open: this.openSetup.has(id),
      draft: this.setupDrafts.get(id),
      onToggle: (open) => {
        if (open) this.openSetup.add(id);
        else this.openSetup.delete(id);
      },
      onDraft: (draft) => this.setupDrafts.set(id, draft),
      onSave: (settings, clientSecret) => this.configureProvider(settings, clientSecret),
    };
  }

  /** Enables or disables every connect button without rebuilding the rows (keeps typed scopes and focus). */
  private syncConnectButtons(): void {
    const disabled = this.flowRunning();
    for (const b of this.root.querySelectorAll<HTMLButtonElement>('[data-testid="connect"], [data-testid="reconnect"]')) {
      const row = b.closest<HTMLElement>("[data-account-id]");
      const rowBusy = row?.dataset.accountId !== undefined && this.busy.has(row.dataset.accountId);
      b.disabled = disabled || rowBusy;
    }
  }

  private renderFlow(): void {
    const flow = this.flow;
    if (!flow) {
      replaceChildren(this.flowSlot);
      return;
    }
    const common = {
      providerName: flow.providerName,
      remainingMs: flow.deadline - this.now(),
      cancelling: flow.cancelling,
      onCancel: () => void this.cancelFlow(),
    };
    replaceChildren(
      this.flowSlot,
      flow.kind === "device"
        ? devicePanel({ ...common, started: flow.started })
        : flowPanel({ ...common, started: flow.started, redirect: flow.redirect }),
    );
  }

  private renderMessages(): void {
    const parts: HTMLElement[] = [];
    if (this.error) {
      parts.push(
        h(
          "div",
          { class: "banner banner--error", "data-testid": "error-banner", role: "alert" },
          h(
            "div",
            { class: "banner-text" },
            h("p", { class: "banner-message", "data-testid": "error-message" }, this.error.message),
            this.error.hint ? h("p", { class: "banner-hint", "data-testid": "error-hint" }, this.error.hint) : null,
          ),
          button("Dismiss", { class: "btn btn--small", "data-testid": "error-dismiss", "aria-label": "Dismiss error" }, () => {
            this.error = null;
            this.renderMessages();
          }),
        ),
      );
    }
    if (this.notice) {
      parts.push(
        h(
          "div",
          { class: `banner banner--${this.notice.tone}`, "data-testid": "notice", role: "status" },
          h("div", { class: "banner-text" }, h("p", { class: "banner-message" }, this.notice.text)),
          button("Dismiss", { class: "btn btn--small", "data-testid": "notice-dismiss", "aria-label": "Dismiss notice" }, () => {
            this.notice = null;
            this.renderMessages();
          }),
        ),
      );
    }
    replaceChildren(this.messages, ...parts);
  }

  private renderAudit(): void {
    if (this.auditError) {
      replaceChildren(
        this.auditSlot,
        h("p", { class: "empty", "data-testid": "audit-error" }, `Could not load the activity list: ${this.auditError}`),
      );
      return;
    }
    replaceChildren(this.auditSlot, auditList(this.audit));
  }

  // ---- messages ---------------------------------------------------------

  private showError(e: unknown): void {
    this.error = api.errorText(e);
    this.renderMessages();
  }

  private showNotice(text: string, tone: Notice["tone"]): void {
    this.notice = { text, tone };
    this.renderMessages();
  }

  // ---- data refresh -----------------------------------------------------

  private async loadAudit(): Promise<void> {
    const seq = ++this.auditSeq;
    try {
      const events = await api.auditLog(AUDIT_LIMIT);
      if (seq !== this.auditSeq) return;
      this.audit = events;
      this.auditError = null;
    } catch (e) {
      if (seq !== this.auditSeq) return;
      this.auditError = api.errorText(e).message;
    }
    this.renderAudit();
    // "Used by …" on each account: a line of context, so a failure leaves the last one shown.
    try {
      const reads = await api.lastReads();
      if (seq !== this.auditSeq) return;
      this.lastReads = new Map(reads.map((r) => [r.account_id, r]));
      refreshLastReads(this.accountList, this.lastReads, this.now());
    } catch {
      /* the activity list above already says when the log cannot be read */
    }
  }

  /** Re-reads the account list; failures are shown, stale answers dropped. */
  private async reloadAccounts(): Promise<void> {
    const seq = ++this.accountsSeq;
    try {
      const accounts = await api.listAccounts();
      if (seq !== this.accountsSeq) return;
      this.accounts = accounts;
      this.renderAccounts();
    } catch (e) {
      if (seq === this.accountsSeq) this.showError(e);
    }
  }

  private upsertAccount(account: Account): void {
    this.accountsSeq++; // an older list in flight must not undo this
    const i = this.accounts.findIndex((a) => a.id === account.id);
    if (i >= 0) this.accounts[i] = account;
    else this.accounts.push(account);
  }

  /** A change the backend made by itself (a scheduled refresh): replace that row in place. */
  private applyBackgroundUpdate(update: AccountUpdate): void {
    const i = this.accounts.findIndex((a) => a.id === update.account.id);
    // Not listed (disconnected meanwhile, or still connecting): a late update must not add it.
    if (i < 0) return;
    this.accountsSeq++; // an older list in flight must not undo this
    this.accounts[i] = update.account;
    // A storm of refreshes (hundreds of accounts) must not re-render the list hundreds of times:
    // one render for all the changes of the last 50 ms.
    if (this.renderTimer === null) {
      this.renderTimer = window.setTimeout(() => {
        this.renderTimer = null;
        this.renderAccounts();
      }, 50);
    }
  }

  private findAccount(id: string): Account | undefined {
    return this.accounts.find((a) => a.id === id);
  }

  // ---- connect ----------------------------------------------------------

  private flowRunning(): boolean {
    return this.flow !== null || this.flowStarting;
  }

  /** Signs in to a provider the chosen way; `kind` comes from the row's select (or the default). */
  private async connect(providerId: string, providerName: string, scopes: string[] | null, kind: ConnectKind): Promise<void> {
    if (this.flowRunning()) return;
    const kinds = connectKinds(this.providers.find((p) => p.id === providerId));
    const nameOf = (id: string) => this.providers.find((p) => p.id === id)?.name ?? providerName;
    if (kind === "device") {
      await this.runFlow(
        async (): Promise<Flow> => {
          const started = await api.deviceBegin(providerId, scopes);
          return {
            kind: "device",
            started,
            providerName: nameOf(started.provider),
            deadline: this.now() + started.expires_in_secs * 1000,
            cancelling: false,
            cancelled: false,
          };
        },
        (flow) => api.deviceFinish(flow.started.flow_id),
      );
    } else {
      await this.runFlow(
        async (): Promise<Flow> => {
          const started = await api.connectBegin(providerId, scopes, redirectArg(kinds, kind));
          return {
            kind: "browser",
            started,
            redirect: kind,
            providerName: nameOf(started.provider),
            deadline: this.now() + started.timeout_secs * 1000,
            cancelling: false,
            cancelled: false,
          };
        },
        (flow) => api.connectFinish(flow.started.flow_id),
      );
    }
  }

  /**
   * Runs one sign-in: `begin` starts it (Connect buttons stay disabled meanwhile), the waiting
   * panel shows until `finish` settles, then the account appears or the error is shown.
   * A cancel (by the user or reported by the backend) shows nothing.
   */
  private async runFlow(begin: () => Promise<Flow>, finish: (flow: Flow) => Promise<Account>): Promise<void> {
    this.flowStarting = true;
    this.syncConnectButtons();

    let flow: Flow;
    try {
      flow = await begin();
    } catch (e) {
      this.flowStarting = false;
      this.syncConnectButtons();
      this.showError(e);
      void this.loadAudit();
      return;
    }
    this.flowStarting = false;
    this.flow = flow;
    this.error = null;
    this.renderMessages();
    this.renderFlow();
    this.syncConnectButtons();
    this.startCountdown();
    const focus = flow.kind === "device" ? '[data-testid="device-user-code-copy"]' : '[data-testid="cancel-flow"]';
    this.flowSlot.querySelector<HTMLElement>(focus)?.focus();

    try {
      const account = await finish(flow);
      this.upsertAccount(account);
      this.flashAccount(account.id);
    } catch (e) {
      if (!flow.cancelled && !api.isCancelled(e)) this.showError(e);
      // A list read while the sign-in was pending may show its "connecting…" row: re-read.
      void this.reloadAccounts();
    } finally {
      this.endFlow(flow);
      void this.loadAudit();
    }
  }

  private endFlow(flow: Flow): void {
    if (this.flow !== flow) return;
    this.flow = null;
    this.stopCountdown();
    this.renderFlow();
    this.renderAccounts();
    this.syncConnectButtons();
  }

  private async cancelFlow(): Promise<void> {
    const flow = this.flow;
    if (!flow || flow.cancelling) return;
    flow.cancelling = true;
    flow.cancelled = true;
    this.renderFlow();
    try {
      await api.connectCancel(flow.started.flow_id);
      // Do not wait for connect_finish / device_finish to notice: the user asked to stop.
      this.endFlow(flow);
    } catch (e) {
      if (this.flow !== flow) return;
      flow.cancelling = false;
      flow.cancelled = false;
      this.renderFlow();
      this.showError(e);
    }
  }

  private startCountdown(): void {
    this.stopCountdown();
    this.countdownTimer = window.setInterval(() => {
      const flow = this.flow;
      const el = this.flowSlot.querySelector('[data-testid="flow-countdown"], [data-testid="device-countdown"]');
      if (!flow || !el) return;
      el.textContent = countdown(flow.deadline - this.now());
    }, 1000);
  }

  private stopCountdown(): void {
    if (this.countdownTimer !== null) window.clearInterval(this.countdownTimer);
    this.countdownTimer = null;
  }

  private flashAccount(id: string): void {
    this.highlight = id;
    this.renderAccounts();
    const row = [...this.accountList.querySelectorAll<HTMLElement>("[data-account-id]")].find(
      (r) => r.dataset.accountId === id,
    );
    row?.scrollIntoView?.({ block: "nearest" });
    if (this.highlightTimer !== null) window.clearTimeout(this.highlightTimer);
    this.highlightTimer = window.setTimeout(() => {
      this.highlightTimer = null;
      if (this.highlight === id) {
        this.highlight = null;
        this.renderAccounts();
      }
    }, HIGHLIGHT_MS);
  }

  // ---- per-account actions ------------------------------------------------

  /** Marks a row busy for the length of `work`; errors go to the banner. */
  private async rowAction(id: string, action: RowAction, work: () => Promise<void>): Promise<boolean> {
    if (this.busy.has(id)) return false;
    const active = document.activeElement;
    if (active && this.accountList.contains(active)) this.focusKey = focusKeyOf(active);
    this.busy.set(id, action);
    this.renderAccounts();
    this.syncConnectButtons();
    let ok = true;
    try {
      await work();
    } catch (e) {
      ok = false;
      this.showError(e);
    } finally {
      this.busy.delete(id);
      this.renderAccounts();
      this.syncConnectButtons();
      void this.loadAudit();
    }
    return ok;
  }

  private async refresh(id: string): Promise<void> {
    const ok = await this.rowAction(id, "refresh", async () => {
      const updated = await api.refreshAccount(id);
      this.upsertAccount(updated);
    });
    // A failed refresh usually changes the stored status (needs reconnect, offline).
    if (!ok) await this.reloadAccounts();
  }

  private async test(id: string): Promise<void> {
    const account = this.findAccount(id);
    if (!account || this.busy.has(id)) return;
    const view = new TestView(this.root, accountLabel(account));
    await this.rowAction(id, "test", async () => {
      let result: ProbeResult;
      try {
        result = await api.testAccount(id);
      } catch (e) {
        view.close();
        throw e;
      }
      view.show(result);
    });
    // The probe may have refreshed the token or found it revoked.
    await this.reloadAccounts();
  }

  private async disconnect(id: string): Promise<void> {
    const account = this.findAccount(id);
    if (!account || this.busy.has(id)) return;
    const name = accountLabel(account);
    const yes = await confirmDialog(this.root, {
      title: "Disconnect account?",
      message: `Disconnect ${name}? The app revokes its tokens at ${account.provider_name} and forgets the account.`,
      yes: "Disconnect",
      no: "Keep account",
    });
    if (!yes) return;

    await this.rowAction(id, "disconnect", async () => {
      let outcome: DisconnectOutcome = await api.disconnectAccount(id, false);
      if (outcome.kind === "confirmation_required") {
        const again = await confirmDialog(this.root, {
          title: "Remove anyway?",
          message: outcome.message,
          copyable: outcome.manage_url
            ? { label: "Remove the app’s access yourself at this address (copy it into your browser):", value: outcome.manage_url }
            : null,
          yes: "Remove from this app",
          no: "Keep account",
        });
        if (!again) return;
        outcome = await api.disconnectAccount(id, true);
      }
      switch (outcome.kind) {
        case "revoked":
          this.showNotice(`Disconnected ${name}. Its tokens were revoked at ${account.provider_name}.`, "info");
          break;
        case "removed_locally":
          this.showNotice(outcome.warning, "warn");
          break;
        case "confirmation_required":
          // Confirmed and still asked: say so rather than loop.
          this.showNotice(outcome.message, "warn");
          break;
      }
    });
    await this.reloadAccounts();
  }

  // ---- add and set up providers -------------------------------------------

  private storeProvider(view: ProviderView): void {
    const i = this.providers.findIndex((p) => p.id === view.id);
    if (i >= 0) this.providers[i] = view;
    else this.providers.push(view);
  }

  /** Saves a built-in provider's settings; true when saved (errors go to the banner). */
  private async configureProvider(settings: ProviderSettings, clientSecret: string | null): Promise<boolean> {
    const wasConfigured = this.providers.find((p) => p.id === settings.provider_id)?.configured ?? false;
    try {
      const view = await api.configureProvider(settings, clientSecret);
      this.storeProvider(view);
      this.openSetup.delete(view.id);
      this.setupDrafts.delete(view.id);
      this.renderProviders();
      this.renderAccounts(); // the empty-state text and scope descriptions may change
      this.showNotice(
        wasConfigured
          ? `Saved the settings of ${view.name}.`
          : `${view.name} is set up. Press Connect to sign in with it.`,
        "info",
      );
      const row = [...this.providerList.querySelectorAll<HTMLElement>('[data-testid="provider-row"]')].find(
        (r) => r.dataset.providerId === view.id,
      );
      row?.querySelector<HTMLElement>(wasConfigured ? '[data-testid="settings-toggle"]' : '[data-testid="connect"]')?.focus();
      return true;
    } catch (e) {
      this.showError(e);
      return false;
    } finally {
      void this.loadAudit();
    }
  }

  /** Sends a filled-in provider form; true when the provider was added. */
  private async addProvider(provider: NewProvider): Promise<boolean> {
    try {
      const added = await api.addProvider(provider);
      this.storeProvider(added);
      this.renderProviders();
      this.renderAccounts(); // the empty-state text depends on having providers
      this.showNotice(`Added ${added.name}. Press Connect to sign in with it.`, "info");
      return true;
    } catch (e) {
      this.showError(e);
      return false;
    } finally {
      void this.loadAudit();
    }
  }
}

function focusKeyOf(el: Element | null): FocusKey | null {
  if (!(el instanceof HTMLElement)) return null;
  const row = el.closest<HTMLElement>("[data-account-id]");
  const accountId = row?.dataset.accountId;
  const testId = el.dataset.testid;
  return accountId !== undefined && testId !== undefined ? { accountId, testId } : null;
}

/** Whether two account lists would render the same (the backend's JSON, compared as such). */
function sameAccounts(a: Account[], b: Account[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

/** Resolves once the browser has had a chance to paint (with a fallback for hidden windows). */
function afterPaint(): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        resolve();
      }
    };
    if (typeof requestAnimationFrame === "function") {
      requestAnimationFrame(() => window.setTimeout(finish, 0));
    }
    // rAF does not fire in a hidden or minimised window.
    window.setTimeout(finish, 100);
  });
}
