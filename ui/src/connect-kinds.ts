/** How a provider can be connected: a browser with a loopback or app-scheme redirect, or a code on another device. */
import type { ConnectKind, ProviderView, RedirectKind } from "./bindings";

export type { ConnectKind };

export const CONNECT_KIND_LABELS: Readonly<Record<ConnectKind, string>> = {
  loopback: "Browser (loopback)",
  custom_scheme: "Browser (app link)",
  device: "Code on another device",
};

function isConnectKind(value: ConnectKind): boolean {
  return Object.prototype.hasOwnProperty.call(CONNECT_KIND_LABELS, value);
}

/**
 * The kinds the UI can offer, in the provider's order of preference (the first is the
 * default). Unknown values are skipped; a provider that lists none gets the loopback browser.
 */
export function connectKinds(provider: Pick<ProviderView, "capabilities"> | undefined): ConnectKind[] {
  const kinds = [...new Set((provider?.capabilities.redirect_kinds ?? []).filter(isConnectKind))];
  return kinds.length > 0 ? kinds : ["loopback"];
}

/** What Connect does for this provider: the user's choice when still offered, else the default. */
export function effectiveKind(kinds: readonly ConnectKind[], choice: ConnectKind | undefined): ConnectKind {
  if (choice !== undefined && kinds.includes(choice)) return choice;
  return kinds[0] ?? "loopback";
}

/** The `redirect` argument of connect_begin: null when the provider's default applies. */
export function redirectArg(kinds: readonly ConnectKind[], kind: RedirectKind): RedirectKind | null {
  return kinds[0] === kind ? null : kind;
}
