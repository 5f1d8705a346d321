/** A provider's capabilities in a few words, for the compact line under its name. */
import type { Capabilities } from "./bindings";

export const NO_REVOKE_HINT = "this provider cannot revoke; disconnecting only forgets the account here";

const REVOCATION: Record<string, string> = {
  rfc7009: "revoke: RFC 7009",
  github_token_delete: "revoke: GitHub API",
  bearer_self: "revoke: token self-revoke",
  none: "no revocation",
};

const REVOCATION_LONG: Record<string, string> = {
  rfc7009: "Disconnecting revokes the tokens at the provider's RFC 7009 revocation endpoint.",
  github_token_delete: "Disconnecting deletes the token through GitHub's application API.",
  bearer_self: "Disconnecting asks the provider to revoke the token with the token itself.",
  none: "The provider offers no way to revoke tokens from the app.",
};

const GRANTED_FROM: Record<string, string> = {
  scope_space: "the token response",
  scope_comma: "the token response",
  scope_array: "the token response",
  scopes_field: "the token response",
  header: "the X-OAuth-Scopes header of the profile request",
  requested: "nowhere: the provider does not report them, so the requested ones are shown",
};

/** The short parts, e.g. ["PKCE", "refresh tokens (rotating)", "revoke: RFC 7009", "device sign-in"]. */
export function capabilityParts(c: Capabilities): string[] {
  const parts: string[] = [];
  if (c.protocol === "oidc") parts.push("OpenID Connect");
  parts.push(c.pkce === "unsupported" ? "no PKCE" : "PKCE");
  if (c.client_secret === "required") parts.push("client secret required");
  else if (c.client_secret === "optional") parts.push("client secret optional");
  if (c.refresh_tokens) parts.push(c.rotating_refresh_tokens ? "refresh tokens (rotating)" : "refresh tokens");
  else parts.push("no refresh tokens");
  parts.push(REVOCATION[c.revocation] ?? `revoke: ${c.revocation}`);
  if (c.device_flow) parts.push("device sign-in");
  return parts;
}

export function capabilityLine(c: Capabilities): string {
  return capabilityParts(c).join(" · ");
}

/** The longer explanation, shown as the line's tooltip. */
export function capabilityDetails(c: Capabilities): string {
  const lines = [
    c.protocol === "oidc"
      ? "OpenID Connect: the account is identified from a signed ID token."
      : "OAuth 2.0: the account is identified with a profile request.",
    c.pkce === "required"
      ? "PKCE is required."
      : c.pkce === "supported"
        ? "PKCE is used."
        : "The provider does not support PKCE.",
    c.client_secret === "required"
      ? "Needs your app's client secret, even from a desktop app."
      : c.client_secret === "optional"
        ? "Uses your app's client secret when one is set."
        : "No client secret: a public client.",
    c.refresh_tokens
      ? c.rotating_refresh_tokens
        ? "Issues refresh tokens; each refresh replaces the refresh token."
        : "Issues refresh tokens."
      : c.rotating_refresh_tokens
        ? "Issues no refresh tokens by default (only when the app opts in; they rotate)."
        : "Issues no refresh tokens: sign in again when the access token expires.",
    REVOCATION_LONG[c.revocation] ?? `Revocation: ${c.revocation}.`,
    c.device_flow ? "Can sign in with a code on another device." : null,
    `Granted scopes are read from ${GRANTED_FROM[c.granted_scopes_from] ?? c.granted_scopes_from}.`,
  ];
  return lines.filter((l): l is string => l !== null).join("\n");
}

export function cannotRevoke(c: Capabilities): boolean {
  return c.revocation === "none";
}
