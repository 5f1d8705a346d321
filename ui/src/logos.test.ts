import { describe, expect, it } from "vitest";
import { LOGOS, lettermark, providerLogo } from "./logos";

const BUILTINS = [
  "atlassian", "bitbucket", "discord", "dropbox", "github", "gitlab",
  "google", "microsoft", "reddit", "slack", "spotify", "twitch",
];

describe("provider logos", () => {
  it("bundles a local SVG for every built-in provider", () => {
    expect([...LOGOS.keys()].sort()).toEqual(BUILTINS);
    for (const [id, url] of LOGOS) {
      expect(url).toMatch(new RegExp(`${id}\\.svg$`));
      expect(url).not.toMatch(/^(https?:)?\/\//);
    }
  });

  it("draws a lettermark from the first letter or digit", () => {
    expect(lettermark("example id")).toBe("E");
    expect(lettermark("  (ACME) SSO")).toBe("A");
    expect(lettermark("ørsted")).toBe("Ø");
    expect(lettermark("42 Login")).toBe("4");
    expect(lettermark("—")).toBe("?");
  });

  it("uses the bundled file only for built-ins", () => {
    expect(providerLogo({ id: "google", name: "Google", builtin: true }).tagName).toBe("IMG");
    expect(providerLogo({ id: "google", name: "My Google", builtin: false }).textContent).toBe("M");
    expect(providerLogo({ id: "nope", name: "Nope", builtin: true }).textContent).toBe("N");
  });
});
