import { describe, expect, it } from "vitest";
import { account } from "../test/fake-backend";
import { parseScopes, scopeView } from "./scopes";

describe("scopeView", () => {
  it("splits requested scopes into granted and missing", () => {
    const v = scopeView(
      account({ scopes_requested: ["openid", "email", "repo"], scopes_granted: ["openid", "email"] }),
    );
    expect(v).toEqual({ granted: ["openid", "email"], missing: ["repo"], assumed: false });
  });

  it("shows scopes the server granted without being asked", () => {
    const v = scopeView(account({ scopes_requested: ["openid"], scopes_granted: ["openid", "offline_access"] }));
    expect(v.granted).toEqual(["openid", "offline_access"]);
    expect(v.missing).toEqual([]);
  });

  it("marks requested scopes as assumed when the server reported none", () => {
    const v = scopeView(
      account({ scopes_source: "requested", scopes_requested: ["a", "b"], scopes_granted: [] }),
    );
    expect(v).toEqual({ granted: ["a", "b"], missing: [], assumed: true });
  });
});

describe("parseScopes", () => {
  it("splits on any whitespace and drops empties and repeats", () => {
    expect(parseScopes("  openid   email\tprofile\nemail ")).toEqual(["openid", "email", "profile"]);
    expect(parseScopes("   ")).toEqual([]);
    expect(parseScopes("https://www.googleapis.com/auth/drive.readonly")).toEqual([
      "https://www.googleapis.com/auth/drive.readonly",
    ]);
  });
});
