/**
 * The window: wires the store, the sign-in controller and the views together, and runs the
 * person's actions through api.ts. Each view renders itself from the store.
 */
import * as api from "./api";
import type { Account, DisconnectOutcome, ForgetReport, NewProvider, ProbeResult, ProviderSettings } from "./bindings";
import { confirmDialog } from "./dialogs";
import { button, h, replaceChildren } from "./dom";
import { Messages } from "./messages";
import { accountLabel, type RowAction } from "./render";
import { SignIn } from "./sign-in";
import { Store, type Change } from "./store";
import { TestView } from "./test-view";
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
  private readonly messages = new Messages();
  private readonly signIn: SignIn;
  private readonly accounts: AccountsView;
  private readonly providers: ProvidersView;
  private readonly activity: ActivityView;
  private readonly shell: Shell;
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
          this.shell.show("accounts");
          this.accounts.flash(account.id);
        } else {
          // A list read while the sign-in was pending may show its "connecting…" row.
          void this.reloadAccounts();
        }
      },
      onError: (e) => this.messages.showError(e),
      onSettled: () => void this.store.loadAudit(),
    }, (id) => this.store.provider(id)?.name);
    const flowActive = () => this.signIn.running();
    this.accounts = new AccountsView(this.store, now, flowActive, {
      onTest: (id) => void this.test(id),
      onRefresh: (id) => void this.refresh(id),
      onDisconnect: (id) => void this.disconnect(id),
      onReconnect: (a) => this.connect(a.provider, a.provider_name, a.scopes_requested.length > 0 ? a.scopes_requested : null),
      onSetUp: () => this.shell.show("providers", true),
    });
    this.providers = new ProvidersView(this.store, flowActive, {
      onConnect: (p, scopes, kind) => void this.signIn.connect(p, p.id, p.name, scopes, kind),
      onConfigure: (settings, secret) => this.configureProvider(settings, secret),
      onAdd: (provider) => this.addProvider(provider),
    });
    this.activity = new ActivityView(this.store);
    const settings = new SettingsView(() => void this.forgetAll());
    this.shell = new Shell(
      {
        accounts: this.accounts.element,
        providers: this.providers.element,
        activity: this.activity.element,
        settings: settings.element,
      },
      this.messages.element,
      this.signIn.slot,
    );
  }

  private changed(what: Change): void {
    switch (what) {
      case "accounts":
        this.accounts.render();
        break;
      case "background":
        this.accounts.renderSoon();
        break;
      case "providers":
        this.providers.render();
        this.accounts.render(); // the empty-state text and scope descriptions follow providers
        break;
      case "audit":
        this.activity.render();
        break;
      case "reads":
        this.accounts.showLastReads();
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
    this.providers.render();
    this.accounts.render();
    document.body.dataset.ready = "accounts";
    performance.mark("ca:list");
    this.showWindow();

    // Expiry text is computed locally; refresh it once a minute. No backend polling.
    this.timers.push(window.setInterval(() => this.accounts.tick(), 60_000));
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
    await this.store.loadAudit();
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

  /** Connect again, the way this provider is connected by default or by the person's choice. */
  private connect(providerId: string, providerName: string, scopes: string[] | null): void {
    const provider = this.store.provider(providerId);
    void this.signIn.connect(provider, providerId, providerName, scopes, this.providers.kindOf(providerId));
  }

  /** Enables or disables every connect button without rebuilding the rows (keeps typed scopes and focus). */
  private syncConnectButtons(): void {
    const disabled = this.signIn.running();
    for (const b of this.root.querySelectorAll<HTMLButtonElement>('[data-testid="connect"], [data-testid="reconnect"]')) {
      const id = b.closest<HTMLElement>("[data-account-id]")?.dataset.accountId;
      b.disabled = disabled || (id !== undefined && this.accounts.busy.has(id));
    }
  }

  // ---- per-account actions ------------------------------------------------

  /** Marks a row busy for the length of `work`; errors go to the banner. */
  private async rowAction(id: string, action: RowAction, work: () => Promise<void>): Promise<boolean> {
    if (this.accounts.busy.has(id)) return false;
    this.accounts.keepFocus();
    this.accounts.busy.set(id, action);
    this.accounts.render();
    this.syncConnectButtons();
    let ok = true;
    try {
      await work();
    } catch (e) {
      ok = false;
      this.messages.showError(e);
    } finally {
      this.accounts.busy.delete(id);
      this.accounts.render();
      this.syncConnectButtons();
      void this.store.loadAudit();
    }
    return ok;
  }

  private async refresh(id: string): Promise<void> {
    const ok = await this.rowAction(id, "refresh", async () => {
      this.store.upsertAccount(await api.refreshAccount(id));
    });
    // A failed refresh usually changes the stored status (needs reconnect, offline).
    if (!ok) await this.reloadAccounts();
  }

  private async test(id: string): Promise<void> {
    const account = this.store.account(id);
    if (!account || this.accounts.busy.has(id)) return;
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
    const account = this.store.account(id);
    if (!account || this.accounts.busy.has(id)) return;
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
      this.reportDisconnect(outcome, name, account);
    });
    await this.reloadAccounts();
  }

  private reportDisconnect(outcome: DisconnectOutcome, name: string, account: Account): void {
    switch (outcome.kind) {
      case "revoked":
        this.messages.showNotice(`Disconnected ${name}. Its tokens were revoked at ${account.provider_name}.`, "info");
        break;
      case "removed_locally":
        this.messages.showNotice(outcome.warning, "warn");
        break;
      case "confirmation_required":
        // Confirmed and still asked: say so rather than loop.
        this.messages.showNotice(outcome.message, "warn");
        break;
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

  // ---- settings -------------------------------------------------------------

  /** Removes everything after a confirmation, then leaves only a report and a Quit button. */
  private async forgetAll(): Promise<void> {
    const n = this.store.accounts.length;
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
      this.messages.showError(e);
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
