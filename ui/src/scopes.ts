/** Which scopes an account was granted, which it asked for and did not get, and how scopes are typed in. */
import type { Account } from "./bindings";

export type ScopeView = {
  /** Scopes to show as held (the server's list, or the requested list when the server said nothing). */
  granted: string[];
  /** Requested but absent from the server's grant. */
  missing: string[];
  /** True when the server did not report scopes and `granted` repeats the request. */
  assumed: boolean;
};

function unique(list: readonly string[]): string[] {
  return [...new Set(list.filter((s) => s !== ""))];
}

export function scopeView(account: Account): ScopeView {
  if (account.scopes_source === "requested") {
    return {
      granted: unique([...account.scopes_granted, ...account.scopes_requested]),
      missing: [],
      assumed: true,
    };
  }
  const granted = unique(account.scopes_granted);
  const held = new Set(granted);
  const missing = unique(account.scopes_requested).filter((s) => !held.has(s));
  return { granted, missing, assumed: false };
}

/** Splits a space-separated scope field (RFC 6749 §3.3); empty means "use the default". */
export function parseScopes(text: string): string[] {
  return unique(text.split(/\s+/));
}

/** Scope → what it lets the app do, as the provider's catalog entry words it. */
export type ScopeDescriptions = Readonly<Record<string, string>>;

/** The description of `scope`, or null (also for names like "constructor" that are not own keys). */
export function scopeDescription(descriptions: ScopeDescriptions, scope: string): string | null {
  if (!Object.prototype.hasOwnProperty.call(descriptions, scope)) return null;
  const text = descriptions[scope];
  return typeof text === "string" && text.trim() !== "" ? text : null;
}
