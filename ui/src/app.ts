/**
 * The window: wires the store, the sign-in controller and the views together, and runs the
 * person's actions through api.ts. Each view renders itself from the store.
 */
import { AccountActions } from "./account-actions";
import * as api from "./api";
import { ApprovalDesk } from "./approval";
import type { AppNotice, NewProvider, ProviderSettings, Remedy } from "./bindings";
import { closeQuestion, closingQuits } from "./dialogs";
import { h, replaceChildren } from "./dom";
import { Messages } from "./messages";
import { refreshExpiries, refreshLastReads, type RowAction } from "./render";
import { SignIn } from "./sign-in";
import { Store, type Change } from "./store";
import { AccountPage } from "./views/account";
import { AccountsView } from "./views/accounts";
import { ActivityView } from "./views/activity";
import { ProvidersView } from "./views/providers";
import { SettingsView } from "./views/settings";
import { Shell } from "./views/shell";

export type AppOptions = {
  /** Clock for expiry and countdown text (tests pin it). */
  now?: () => number;
};

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
  private readonly store = new Store((what) => this.changed(what));
  private readonly messages = new Messages((remedy) => this.applyRemedy(remedy));
  private readonly signIn: SignIn;
  /** Running local actions, by account: the list and the page show them. */
  private readonly busy = new Map<string, RowAction>();
  private readonly accounts: AccountsView;
  private readonly page: AccountPage;
  private readonly providers: ProvidersView;
  private readonly activity: ActivityView;
  private readonly shell: Shell;
  private readonly actions: AccountActions;
  private readonly approvals: ApprovalDesk;
  private timers: number[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly now: () => number,
  ) {
    this.signIn = new SignIn(h("div", { class: "flow-slot" }), now, {
      onRunning: () => this.syncConnectButtons(),
      onStarted: () => this.messages.clearError(),
      onEnded: (account) => {
        if (account) {
          this.store.upsertAccount(account);
          this.accounts.flash(account.id);
          this.openAccount(account.id);
        } else {
          // A list read while the sign-in was pending may show its "connecting…" row.
          void this.reloadAccounts();
        }
      },
      onError: (e) => this.messages.showError(e),
      onSettled: () => void this.store.loadAudit(),
    }, (id) => this.store.provider(id)?.name);
    const flowActive = () => this.signIn.running();
    this.approvals = new ApprovalDesk(root, now, () => void this.store.loadAudit(), (e) => this.messages.showError(e));
    this.actions = new AccountActions(this.store, this.busy, {
      root,
      messages: this.messages,
      renderAccounts: () => {
        this.accounts.render();
        this.page.render();
      },
      syncConnectButtons: () => this.syncConnectButtons(),
      reloadAccounts: () => this.reloadAccounts(),
      stepUp: (a, scopes) => this.connect(a.provider, a.provider_name, scopes, a.id),
    });
    this.accounts = new AccountsView(this.store, now, this.busy, {
      onOpen: (id) => this.openAccount(id),
      onSetUp: () => this.shell.show("providers", true),
      onTryDemo: (id) => this.connect(id, this.store.provider(id)?.name ?? id, null),
    });
    this.page = new AccountPage(this.store, now, this.busy, flowActive, {
      onTest: (id) => void this.actions.test(id),
      onRequest: (id, url) => void this.actions.request(id, url),
      onRefresh: (id) => void this.actions.refresh(id),
      onPolicy: (id, policy) => void this.actions.setPolicy(id, policy),
      onEndApproval: (approvalId) => void this.store.endApproval(approvalId).catch((e: unknown) => this.messages.showError(e)),
      onDisconnect: (id) => void this.actions.disconnect(id),
      onReconnect: (a, scopes) => this.connect(a.provider, a.provider_name, scopes, a.id),
      onBack: () => this.backToList(),
      onActivity: (id) => {
        this.activity.showAccount(id);
        this.shell.show("activity", true);
      },
    });
    this.providers = new ProvidersView(this.store, flowActive, {
      onConnect: (p, scopes, kind, bearer) => void this.signIn.connect(p, p.id, p.name, scopes, kind, null, bearer),
      onConfigure: (settings, secret) => this.configureProvider(settings, secret),
      onAdd: (provider) => this.addProvider(provider),
      onPlanResource: async (url) => {
        try {
          return await api.planResource(url);
        } catch (e) {
          this.messages.showError(e);
          return null;
        }
      },
      onConnectResource: (url, label, confirmed) =>
        void this.signIn.connectResource(url, label, confirmed).finally(() => {
          // The API's server may have been added (the app registering itself there).
          this.store.reloadProviders().catch((e: unknown) => this.messages.showError(e));
        }),
    });
    this.activity = new ActivityView(this.store);
    const settings = new SettingsView(root, {
      accountCount: () => this.store.accounts.length,
      onError: (e) => {
        this.messages.showError(e);
        void this.reloadAccounts();
      },
      onRemoved: () => this.stop(),
    });
    this.shell = new Shell(
      {
        accounts: this.accounts.element,
        account: this.page.element,
        providers: this.providers.element,
        activity: this.activity.element,
        settings: settings.element,
      },
      this.messages.element,
      this.signIn.slot,
      (view) => {
        if (view === "settings") void settings.load();
      },
    );
  }

  private openAccount(id: string): void {
    this.page.open(id);
    this.shell.show("account", true);
  }

  /** Back from an account's page (or it was disconnected): the list, focus on its row. */
  private backToList(): void {
    const id = this.page.current();
    this.page.close();
    if (this.shell.view() !== "account") return;
    this.shell.show("accounts");
    if (id) this.accounts.focusRow(id);
  }

  private changed(what: Change): void {
    switch (what) {
      case "accounts":
        this.accounts.render();
        this.page.render();
        break;
      case "background":
        this.accounts.renderSoon();
        this.page.render();
        break;
      case "providers":
        this.providers.render();
        this.accounts.render(); // the empty-state text and scope descriptions follow providers
        this.page.render();
        break;
      case "audit":
        this.activity.render();
        break;
      case "reads":
        refreshLastReads(this.page.element, this.store.lastReads, this.now());
        break;
      case "approvals":
        this.page.render();
        break;
    }
  }

  async start(): Promise<void> {
    replaceChildren(this.root, this.shell.element);
    this.root.addEventListener("keydown", (ev) => this.shortcut(ev));
    try {
      // Usually already in the page (the backend hands it over before scripts run), so the
      // first paint has the list rather than a loading line.
      await this.store.start(this.now());
    } catch (e) {
      this.messages.showError(e);
      this.providers.render();
      this.accounts.render();
      document.body.dataset.ready = "error";
      this.showWindow();
      return;
    }
    // Only a first run asks which profile runs (the demo offers its server): a list of
    // accounts paints without the extra round trip.
    if (this.store.accounts.length === 0) await this.store.loadAppInfo();
    this.providers.render();
    this.accounts.render();
    document.body.dataset.ready = "accounts";
    performance.mark("ca:list");
    this.showWindow();

    // Expiry text is computed locally; refresh it once a minute. No backend polling.
    this.timers.push(
      window.setInterval(() => {
        this.accounts.tick();
        refreshExpiries(this.page.element, this.store.accounts, this.now());
      }, 60_000),
    );
    await afterPaint();
    // Subscribed before the re-read below, so no background change falls between the two.
    await api.watchAccounts((update) => this.store.applyBackgroundUpdate(update)).catch((e: unknown) => {
      // The list still works; it just won't change by itself until the next action.
      console.warn("background updates unavailable", e);
    });
    try {
      await this.store.recover();
    } catch (e) {
      this.messages.showError(e);
    }
    // Without it, closing the window quits (the backend never traps the person behind a question
    // nobody asks).
    await api.watchApp((notice) => void this.onAppNotice(notice)).catch((e: unknown) => {
      console.warn("the close question is unavailable", e);
    });
    // The questions of the access policy "ask": any still open, then each new one.
    await api.watchApprovals((question) => this.approvals.add(question)).catch((e: unknown) => {
      console.warn("approval questions are unavailable", e);
    });
    await this.store.loadAudit();
    // For the first-run screen, should every account be disconnected later.
    if (!this.store.appInfoLoaded) await this.store.loadAppInfo();
  }

  /** The window is closing: ask what that does (once), or say why it quits (once). */
  private async onAppNotice(notice: AppNotice): Promise<void> {
    if (document.querySelector('[data-testid="close-dialog"], [data-testid="closing-quits"]')) return;
    try {
      if (notice.kind === "closing_quits") {
        if (await closingQuits(this.root)) await api.quitApp();
        return;
      }
      const answer = await closeQuestion(this.root);
      if (answer !== null) await api.answerClose(answer === "keep");
    } catch (e) {
      this.messages.showError(e);
    }
  }

  /** `/` or Ctrl+F searches the accounts, from anywhere but a text field. */
  private shortcut(ev: KeyboardEvent): void {
    const typing = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement;
    const find = (ev.key === "f" && (ev.ctrlKey || ev.metaKey)) || (ev.key === "/" && !typing);
    if (!find || this.store.accounts.length < 2) return;
    ev.preventDefault();
    this.shell.show("accounts");
    this.accounts.search.focus();
  }

  /** The window starts hidden; it appears now, with the list (the backend shows it anyway
   * after a few seconds, so a failure here only delays it). */
  private showWindow(): void {
    api.windowReady().catch((e: unknown) => console.warn("could not show the window", e));
  }

  stop(): void {
    for (const t of this.timers) window.clearInterval(t);
    this.timers = [];
    this.signIn.stop();
    this.accounts.stop();
  }

  private async reloadAccounts(): Promise<void> {
    try {
      await this.store.reloadAccounts();
    } catch (e) {
      this.messages.showError(e);
    }
  }

  /** The banner's remedy button: the view, panel or sign-in that fixes the error. */
  private applyRemedy(remedy: Remedy): void {
    switch (remedy.kind) {
      case "configure_provider":
      case "check_client": {
        const id = remedy.kind === "configure_provider" ? remedy.provider : this.store.providers.find((p) => p.name === remedy.provider_name)?.id;
        this.shell.show("providers", true);
        if (id) this.providers.openSettings(id);
        break;
      }
      case "list_providers":
      case "enter_user_endpoint":
        this.shell.show("providers", true);
        break;
      case "list_accounts":
        this.shell.show("accounts", true);
        break;
      case "reconnect": {
        const account = this.store.account(remedy.account);
        if (account) {
          const scopes = account.scopes_requested.length > 0 ? account.scopes_requested : null;
          this.connect(account.provider, account.provider_name, scopes, account.id);
        }
        break;
      }
      default:
        break;
    }
  }

  /**
   * Connect again, the way this provider is connected by default or by the person's choice;
   * `account`: the account signed in again, which the server is told to expect.
   */
  private connect(providerId: string, providerName: string, scopes: string[] | null, account: string | null = null): void {
    const provider = this.store.provider(providerId);
    void this.signIn.connect(provider, providerId, providerName, scopes, this.providers.kindOf(providerId), account);
  }

  /** Enables or disables every connect button without rebuilding the rows (keeps typed scopes and focus). */
  private syncConnectButtons(): void {
    const disabled = this.signIn.running();
    for (const b of this.root.querySelectorAll<HTMLButtonElement>('[data-testid="connect"], [data-testid="reconnect"]')) {
      const id = b.closest<HTMLElement>("[data-account-id]")?.dataset.accountId;
      b.disabled = disabled || (id !== undefined && this.busy.has(id));
    }
  }

  // ---- providers ------------------------------------------------------------

  private async configureProvider(settings: ProviderSettings, clientSecret: string | null): Promise<boolean> {
    const wasConfigured = this.store.provider(settings.provider_id)?.configured ?? false;
    try {
      const view = await api.configureProvider(settings, clientSecret);
      this.providers.saved(view.id);
      this.store.storeProvider(view);
      this.messages.showNotice(
        wasConfigured ? `Saved the settings of ${view.name}.` : `${view.name} is set up. Press Connect to sign in with it.`,
        "info",
      );
      this.providers.focusRow(view.id, wasConfigured);
      return true;
    } catch (e) {
      this.messages.showError(e);
      return false;
    } finally {
      void this.store.loadAudit();
    }
  }

  private async addProvider(provider: NewProvider): Promise<boolean> {
    try {
      const added = await api.addProvider(provider);
      this.store.storeProvider(added);
      this.messages.showNotice(`Added ${added.name}. Press Connect to sign in with it.`, "info");
      return true;
    } catch (e) {
      this.messages.showError(e);
      return false;
    } finally {
      void this.store.loadAudit();
    }
  }
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
