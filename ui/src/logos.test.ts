import { describe, expect, it } from "vitest";
import { LOGOS, lettermark, providerLogo } from "./logos";

const BUILTINS = [
  "atlassian", "bitbucket", "discord", "dropbox", "github", "gitlab",
  "google", "microsoft", "reddit", "slack", "spotify", "twitch",
];

describe("provider logos", () => {
  it("bundles a local SVG for every built-in provider, referring to nothing outside itself", () => {
    expect([...LOGOS.keys()].sort()).toEqual(BUILTINS);
    for (const [id, svg] of LOGOS) {
      expect(svg, id).toMatch(/^<svg[\s>]/);
      expect(svg, id).not.toMatch(/href|url\(|<script|<foreignObject|\son\w+=/i);
      const logo = providerLogo({ id, name: id, builtin: true });
      expect(logo.localName, id).toBe("svg");
      expect(logo.getAttribute("data-logo")).toBe(id);
    }
  });

  it("places a logo inline as decoration: no request, no title, hidden from screen readers", () => {
    const logo = providerLogo({ id: "github", name: "GitHub", builtin: true });
    expect(logo.namespaceURI).toBe("http://www.w3.org/2000/svg");
    expect(logo.getAttribute("aria-hidden")).toBe("true");
    expect(logo.querySelector("title")).toBeNull();
    expect(logo.hasAttribute("role")).toBe(false);
    expect(logo.getAttribute("width")).toBe("28");
    // Each row gets its own copy.
    expect(providerLogo({ id: "github", name: "GitHub", builtin: true })).not.toBe(logo);
  });

  it("draws a lettermark from the first letter or digit", () => {
    expect(lettermark("example id")).toBe("E");
    expect(lettermark("  (ACME) SSO")).toBe("A");
    expect(lettermark("ørsted")).toBe("Ø");
    expect(lettermark("42 Login")).toBe("4");
    expect(lettermark("—")).toBe("?");
  });

  it("uses the bundled file only for built-ins", () => {
    expect(providerLogo({ id: "google", name: "Google", builtin: true }).localName).toBe("svg");
    expect(providerLogo({ id: "google", name: "My Google", builtin: false }).textContent).toBe("M");
    expect(providerLogo({ id: "nope", name: "Nope", builtin: true }).textContent).toBe("N");
  });
});
