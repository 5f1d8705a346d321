/**
 * One sign-in at a time: starts it (in the browser, or with a code on another device), shows
 * the waiting panel with its countdown and Cancel, and reports the account or the error.
 * A cancel, by the user or reported by the backend, reports nothing.
 */
import * as api from "./api";
import type { Account, ConnectStarted, DeviceStarted, ProviderView, RedirectKind } from "./bindings";
import { connectKinds, redirectArg, type ConnectKind } from "./connect-kinds";
import { replaceChildren } from "./dom";
import { devicePanel, flowPanel } from "./flow-panels";
import { countdown } from "./time";

export type Flow = (
  | { kind: "browser"; started: ConnectStarted; redirect: RedirectKind }
  | { kind: "device"; started: DeviceStarted }
) & {
  providerName: string;
  deadline: number;
  cancelling: boolean;
  cancelled: boolean;
};

export type SignInEvents = {
  /** A sign-in started or ended: Connect buttons follow `running()`. */
  onRunning(): void;
  /** The waiting panel is up: an earlier error no longer applies. */
  onStarted(): void;
  /** A started sign-in ended: with its account, or with none (failed or cancelled). */
  onEnded(account: Account | null): void;
  onError(e: unknown): void;
  /** Any end (account, error or cancel): the activity log has a new line. */
  onSettled(): void;
};

export class SignIn {
  /** The waiting panel's place on the page. */
  readonly slot: HTMLElement;
  private flow: Flow | null = null;
  private starting = false;
  private timer: number | null = null;

  constructor(
    slot: HTMLElement,
    private readonly now: () => number,
    private readonly events: SignInEvents,
    /** A provider's name by id (the backend may answer for another id than asked, an alias). */
    private readonly nameOf: (providerId: string) => string | undefined = () => undefined,
  ) {
    this.slot = slot;
  }

  running(): boolean {
    return this.flow !== null || this.starting;
  }

  current(): Flow | null {
    return this.flow;
  }

  /** Signs in to `provider` the chosen way; ignored while another sign-in runs. */
  async connect(
    provider: ProviderView | undefined,
    providerId: string,
    providerName: string,
    scopes: string[] | null,
    kind: ConnectKind,
    account: string | null = null,
    bearer = false,
  ): Promise<void> {
    if (this.running()) return;
    const nameOf = (id: string) => this.nameOf(id) ?? providerName;
    if (kind === "device") {
      await this.run(
        async (): Promise<Flow> => {
          const started = await api.deviceBegin(providerId, scopes);
          return { kind: "device", started, providerName: nameOf(started.provider), deadline: this.now() + started.expires_in_secs * 1000, cancelling: false, cancelled: false };
        },
        (flow) => api.deviceFinish(flow.started.flow_id),
      );
    } else {
      const redirect = redirectArg(connectKinds(provider), kind);
      await this.run(
        async (): Promise<Flow> => {
          const started = await api.connectBegin(providerId, scopes, redirect, account, bearer);
          return { kind: "browser", started, redirect: kind, providerName: nameOf(started.provider), deadline: this.now() + started.timeout_secs * 1000, cancelling: false, cancelled: false };
        },
        (flow) => api.connectFinish(flow.started.flow_id),
      );
    }
  }

  /** Signs in for the API at `url` (RFC 9728): its server, added where needed, in the browser. */
  async connectResource(url: string, label: string, confirmed: boolean): Promise<void> {
    if (this.running()) return;
    await this.run(
      async (): Promise<Flow> => {
        const started = await api.connectResourceBegin(url, null, confirmed);
        const providerName = this.nameOf(started.provider) ?? label;
        return { kind: "browser", started, redirect: "loopback", providerName, deadline: this.now() + started.timeout_secs * 1000, cancelling: false, cancelled: false };
      },
      (flow) => api.connectFinish(flow.started.flow_id),
    );
  }

  private async run(begin: () => Promise<Flow>, finish: (flow: Flow) => Promise<Account>): Promise<void> {
    this.starting = true;
    this.events.onRunning();
    let flow: Flow;
    try {
      flow = await begin();
    } catch (e) {
      this.starting = false;
      this.events.onRunning();
      this.events.onError(e);
      this.events.onSettled();
      return;
    }
    this.starting = false;
    this.flow = flow;
    this.render();
    this.events.onStarted();
    this.events.onRunning();
    this.startCountdown();
    const focus = flow.kind === "device" ? '[data-testid="device-user-code-copy"]' : '[data-testid="cancel-flow"]';
    this.slot.querySelector<HTMLElement>(focus)?.focus();
    try {
      const account = await finish(flow);
      this.end(flow);
      this.events.onEnded(account);
    } catch (e) {
      this.end(flow);
      if (!flow.cancelled && !api.isCancelled(e)) this.events.onError(e);
      this.events.onEnded(null);
    } finally {
      this.events.onSettled();
    }
  }

  private end(flow: Flow): void {
    if (this.flow !== flow) return;
    this.flow = null;
    this.stopCountdown();
    this.render();
    this.events.onRunning();
  }

  async cancel(): Promise<void> {
    const flow = this.flow;
    if (!flow || flow.cancelling) return;
    flow.cancelling = true;
    flow.cancelled = true;
    this.render();
    try {
      await api.connectCancel(flow.started.flow_id);
      // Not waiting for the finish call to notice: the user asked to stop.
      this.end(flow);
    } catch (e) {
      if (this.flow !== flow) return;
      flow.cancelling = false;
      flow.cancelled = false;
      this.render();
      this.events.onError(e);
    }
  }

  private render(): void {
    const flow = this.flow;
    if (!flow) {
      replaceChildren(this.slot);
      return;
    }
    const common = {
      providerName: flow.providerName,
      remainingMs: flow.deadline - this.now(),
      cancelling: flow.cancelling,
      onCancel: () => void this.cancel(),
    };
    replaceChildren(
      this.slot,
      flow.kind === "device"
        ? devicePanel({ ...common, started: flow.started })
        : flowPanel({ ...common, started: flow.started, redirect: flow.redirect }),
    );
  }

  private startCountdown(): void {
    this.stopCountdown();
    this.timer = window.setInterval(() => {
      const el = this.slot.querySelector('[data-testid="flow-countdown"], [data-testid="device-countdown"]');
      if (this.flow && el) el.textContent = countdown(this.flow.deadline - this.now());
    }, 1000);
  }

  private stopCountdown(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }

  stop(): void {
    this.stopCountdown();
  }
}
