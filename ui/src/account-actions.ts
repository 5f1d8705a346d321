/**
 * What the person does to one account: Test, Refresh and Disconnect. Each marks the account busy
 * while it runs (the list and the page show it), reports errors in the banner, and re-reads
 * what the backend may have changed.
 */
import * as api from "./api";
import type { Account, DisconnectOutcome, Policy, ProbeResult } from "./bindings";
import { confirmDialog } from "./dialogs";
import type { Messages } from "./messages";
import { accountLabel, type RowAction } from "./render";
import type { Store } from "./store";
import { TestView } from "./test-view";

/** The parts of the window an action touches. */
export type ActionWindow = {
  root: HTMLElement;
  messages: Messages;
  renderAccounts(): void;
  syncConnectButtons(): void;
  reloadAccounts(): Promise<void>;
  /** Signs the account in again asking for these scopes (step-up). */
  stepUp(account: Account, scopes: string[]): void;
};

export class AccountActions {
  constructor(
    private readonly store: Store,
    private readonly busy: Map<string, RowAction>,
    private readonly window: ActionWindow,
  ) {}


  /** Marks a row busy for the length of `work`; errors go to the banner. */
  private async run(id: string, action: RowAction, work: () => Promise<void>): Promise<boolean> {
    if (this.busy.has(id)) return false;
    this.busy.set(id, action);
    this.window.renderAccounts();
    this.window.syncConnectButtons();
    let ok = true;
    try {
      await work();
    } catch (e) {
      ok = false;
      this.window.messages.showError(e);
    } finally {
      this.busy.delete(id);
      this.window.renderAccounts();
      this.window.syncConnectButtons();
      void this.store.loadAudit();
    }
    return ok;
  }

  async refresh(id: string): Promise<void> {
    const ok = await this.run(id, "refresh", async () => {
      this.store.upsertAccount(await api.refreshAccount(id));
    });
    // A failed refresh usually changes the stored status (needs reconnect, offline).
    if (!ok) await this.window.reloadAccounts();
  }

  /** Who may read the account's token through the app; the window may loosen it too. */
  async setPolicy(id: string, policy: Policy): Promise<void> {
    await this.run(id, "policy", async () => {
      this.store.upsertAccount(await api.setPolicy(id, policy));
    });
  }

  async test(id: string): Promise<void> {
    await this.probe(id, "test", "Test request", () => api.testAccount(id));
  }

  /** The request box: a GET of `url` on the provider's API. */
  async request(id: string, url: string): Promise<void> {
    await this.probe(id, "request", "Request", () => api.requestAccount(id, url));
  }

  private async probe(id: string, action: RowAction, title: string, call: () => Promise<ProbeResult>): Promise<void> {
    const account = this.store.account(id);
    if (!account || this.busy.has(id)) return;
    // Step-up keeps what was granted and adds what the API named.
    const view = new TestView(this.window.root, accountLabel(account), title, (missing) =>
      this.window.stepUp(account, [...new Set([...account.scopes_granted, ...missing])]),
    );
    await this.run(id, action, async () => {
      let result: ProbeResult;
      try {
        result = await call();
      } catch (e) {
        view.close();
        throw e;
      }
      view.show(result);
    });
    // The call may have refreshed the token or found it revoked.
    await this.window.reloadAccounts();
  }

  async disconnect(id: string): Promise<void> {
    const account = this.store.account(id);
    if (!account || this.busy.has(id)) return;
    const name = accountLabel(account);
    const yes = await confirmDialog(this.window.root, {
      title: "Disconnect account?",
      message: `Disconnect ${name}? The app revokes its tokens at ${account.provider_name} and forgets the account.`,
      yes: "Disconnect",
      no: "Keep account",
    });
    if (!yes) return;
    await this.run(id, "disconnect", async () => {
      let outcome: DisconnectOutcome = await api.disconnectAccount(id, false);
      if (outcome.kind === "confirmation_required") {
        const again = await confirmDialog(this.window.root, {
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
    await this.window.reloadAccounts();
  }

  private reportDisconnect(outcome: DisconnectOutcome, name: string, account: Account): void {
    switch (outcome.kind) {
      case "revoked":
        this.window.messages.showNotice(`Disconnected ${name}. Its tokens were revoked at ${account.provider_name}.`, "info");
        break;
      case "removed_locally":
        this.window.messages.showNotice(outcome.warning, "warn");
        break;
      case "confirmation_required":
        // Confirmed and still asked: say so rather than loop.
        this.window.messages.showNotice(outcome.message, "warn");
        break;
    }
  }
}
