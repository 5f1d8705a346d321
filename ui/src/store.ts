/**
 * What the window knows: providers, accounts, the activity log and who last read each token.
 * Every read from the backend carries a sequence number, so a slow reply never overwrites a
 * newer change (an action's result, a background update). Views are told what changed.
 */
import * as api from "./api";
import type { Account, AccountUpdate, AuditEvent, LastRead, LiveApproval, ProviderView } from "./bindings";
import type { ScopeDescriptions } from "./scopes";

export const AUDIT_LIMIT = 50;
/** The provider `scripts/demo.sh` adds: its local authorization server. */
export const DEMO_PROVIDER = "local-demo";

/** What changed; "background" is an account the backend changed by itself (coalesced by views). */
export type Change = "providers" | "accounts" | "background" | "audit" | "reads" | "approvals";

export class Store {
  providers: ProviderView[] = [];
  accounts: Account[] = [];
  audit: AuditEvent[] = [];
  auditError: string | null = null;
  lastReads = new Map<string, LastRead>();
  /** The approvals in force (policy "ask"), all accounts'. */
  approvals: LiveApproval[] = [];
  /** False until the first lists arrived (or failed to). */
  loaded = false;
  /** The app runs in the demo profile (`scripts/demo.sh`): asked before the first paint only when
   * there is no account to paint, else after it. */
  demo = false;
  appInfoLoaded = false;

  private accountsSeq = 0;
  private auditSeq = 0;

  constructor(private readonly changed: (what: Change) => void = () => {}) {}

  /** The first lists, usually handed over with the page. Throws what the backend said. */
  async start(now: number): Promise<void> {
    try {
      const { providers, accounts } = await api.startupLists(now);
      this.providers = providers;
      this.accounts = accounts;
    } finally {
      this.loaded = true;
    }
  }

  /** Asks which profile runs, for the first-run screen. A failure leaves the ordinary one. */
  async loadAppInfo(): Promise<void> {
    try {
      this.demo = (await api.appInfo()).profile === "demo";
    } catch {
      this.demo = false;
    }
    this.appInfoLoaded = true;
  }

  /** The demo's own provider, when the app runs as the demo and it is set up. */
  demoProvider(): ProviderView | undefined {
    return this.demo ? this.providers.find((p) => p.id === DEMO_PROVIDER && p.configured) : undefined;
  }

  /**
   * Finishes what an earlier run left half done. Usually nothing was: then the list stays as it
   * is and no view is told (no rebuild, no second paint).
   */
  async recover(): Promise<void> {
    const seq = ++this.accountsSeq;
    const recovered = await api.recoverInterrupted();
    if (seq === this.accountsSeq && !sameAccounts(this.accounts, recovered)) {
      this.accounts = recovered;
      this.changed("accounts");
    }
  }

  /** Re-reads the accounts. A stale answer is dropped; an error is thrown only if still current. */
  async reloadAccounts(): Promise<void> {
    const seq = ++this.accountsSeq;
    try {
      const accounts = await api.listAccounts();
      if (seq !== this.accountsSeq) return;
      this.accounts = accounts;
      this.changed("accounts");
    } catch (e) {
      if (seq === this.accountsSeq) throw e;
    }
  }

  /** An action's result: it wins over any list read still in flight. */
  upsertAccount(account: Account): void {
    this.accountsSeq++;
    const i = this.accounts.findIndex((a) => a.id === account.id);
    if (i >= 0) this.accounts[i] = account;
    else this.accounts.push(account);
    this.changed("accounts");
  }

  /**
   * A change the backend made by itself (a scheduled refresh). An account not listed
   * (disconnected meanwhile, or still connecting) is not added by a late update.
   */
  applyBackgroundUpdate(update: AccountUpdate): boolean {
    const i = this.accounts.findIndex((a) => a.id === update.account.id);
    if (i < 0) return false;
    this.accountsSeq++;
    this.accounts[i] = update.account;
    this.changed("background");
    return true;
  }

  /** Re-reads the providers (a sign-in by resource URL may have added one). */
  async reloadProviders(): Promise<void> {
    this.providers = await api.listProviders();
    this.changed("providers");
  }

  storeProvider(view: ProviderView): void {
    const i = this.providers.findIndex((p) => p.id === view.id);
    if (i >= 0) this.providers[i] = view;
    else this.providers.push(view);
    this.changed("providers");
  }

  /** The activity log, then "used by …" per account; failures are kept for the views to show. */
  async loadAudit(): Promise<void> {
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
    this.changed("audit");
    try {
      const reads = await api.lastReads();
      if (seq !== this.auditSeq) return;
      this.lastReads = new Map(reads.map((r) => [r.account_id, r]));
      this.changed("reads");
    } catch {
      // A line of context: a failure leaves the last one shown (the activity view says why).
    }
    await this.loadApprovals(seq);
  }

  /** The approvals in force; `seq` drops an answer a newer read overtook. */
  private async loadApprovals(seq = this.auditSeq): Promise<void> {
    try {
      const live = await api.listApprovals(null);
      if (seq !== this.auditSeq) return;
      // Usually none, and unchanged: the open page is rebuilt only when they changed.
      if (JSON.stringify(live) === JSON.stringify(this.approvals)) return;
      this.approvals = live;
      this.changed("approvals");
    } catch {
      // Kept as they were: the account page lists what it last knew.
    }
  }

  /** Ends an approval in force; the list is what the app says is left. */
  async endApproval(id: string): Promise<void> {
    this.approvals = await api.endApproval(id);
    this.changed("approvals");
  }

  account(id: string): Account | undefined {
    return this.accounts.find((a) => a.id === id);
  }

  provider(id: string): ProviderView | undefined {
    return this.providers.find((p) => p.id === id);
  }

  scopeDescriptionsOf(providerId: string): ScopeDescriptions {
    return this.provider(providerId)?.scope_descriptions ?? {};
  }
}

/** Whether two account lists would render the same (the backend's JSON, compared as such). */
export function sameAccounts(a: Account[], b: Account[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
