import { describe, expect, it } from "vitest";
import type { ProbeResult } from "./bindings";
import { probeDetails } from "./test-view";

const result = (over: Partial<ProbeResult>): ProbeResult => ({
  url: "https://id.example.com/userinfo",
  method: "GET",
  status: 200,
  latency_ms: 40,
  headers: [],
  body: { text: "x".repeat(64) },
  truncated: false,
  missing_scopes: null,
  ...over,
});

describe("the test view's body", () => {
  it("says so when the reply was cut at the app's limit", () => {
    const shown = probeDetails(result({ truncated: true }));
    const note = shown.querySelector('[data-testid="test-truncated"]');
    expect(note?.textContent).toContain("larger than 1 MiB");
    expect(shown.querySelector('[data-testid="test-body"]')?.textContent).toContain("xxxx");
  });

  it("says nothing of the kind for a whole reply", () => {
    expect(probeDetails(result({})).querySelector('[data-testid="test-truncated"]')).toBeNull();
  });
});
