import { describe, expect, it } from "vitest";
import type { Capabilities } from "./bindings";
import { cannotRevoke, capabilityDetails, capabilityLine } from "./capabilities";

const base: Capabilities = {
  protocol: "oauth2",
  pkce: "supported",
  client_secret: "none",
  redirect_kinds: ["loopback"],
  device_flow: false,
  refresh_tokens: true,
  rotating_refresh_tokens: false,
  revocation: "rfc7009",
  granted_scopes_from: "scope_space",
};

describe("capabilityLine", () => {
  it("reads like the brief's example", () => {
    expect(capabilityLine({ ...base, rotating_refresh_tokens: true, device_flow: true })).toBe(
      "PKCE · refresh tokens (rotating) · revoke: RFC 7009 · device sign-in",
    );
  });

  it("names OpenID Connect, secrets, missing PKCE, refresh and revocation styles", () => {
    expect(capabilityLine({ ...base, protocol: "oidc" })).toBe("OpenID Connect · PKCE · refresh tokens · revoke: RFC 7009");
    expect(capabilityLine({ ...base, pkce: "unsupported", client_secret: "required", refresh_tokens: false, revocation: "bearer_self" })).toBe(
      "no PKCE · client secret required · no refresh tokens · revoke: token self-revoke",
    );
    expect(capabilityLine({ ...base, client_secret: "optional", revocation: "none" })).toBe(
      "PKCE · client secret optional · refresh tokens · no revocation",
    );
    // Values the UI does not know yet (a newer core) still show up rather than vanish.
    const unknown = "carrier_pigeon" as unknown as Capabilities["revocation"];
    expect(capabilityLine({ ...base, revocation: unknown })).toContain("revoke: carrier_pigeon");
  });

  it("explains the details in the tooltip", () => {
    const text = capabilityDetails({ ...base, granted_scopes_from: "requested", revocation: "none" });
    expect(text).toContain("The provider offers no way to revoke tokens from the app.");
    expect(text).toContain("the requested ones are shown");
  });

  it("knows when a provider cannot revoke", () => {
    expect(cannotRevoke({ ...base, revocation: "none" })).toBe(true);
    expect(cannotRevoke({ ...base, revocation: "github_token_delete" })).toBe(false);
  });
});
