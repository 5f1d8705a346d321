import { describe, expect, it } from "vitest";
import { countdown, relativeExpiry } from "./time";

const now = Date.parse("2025-06-01T12:00:00Z");
const at = (ms: number) => new Date(now + ms).toISOString();
const MIN = 60_000;

describe("relativeExpiry", () => {
  it("describes future, past and missing expiry", () => {
    expect(relativeExpiry(at(59 * MIN + 59_000), now)).toBe("expires in 59 min");
    expect(relativeExpiry(at(-3 * MIN - 10_000), now)).toBe("expired 3 min ago");
    expect(relativeExpiry(null, now)).toBe("no expiry");
  });

  it("uses hours and days for long spans", () => {
    expect(relativeExpiry(at(90 * MIN), now)).toBe("expires in 1 h 30 min");
    expect(relativeExpiry(at(5 * 60 * MIN), now)).toBe("expires in 5 h");
    expect(relativeExpiry(at(3 * 24 * 60 * MIN), now)).toBe("expires in 3 days");
  });

  it("has words for the last minute", () => {
    expect(relativeExpiry(at(20_000), now)).toBe("expires in less than a minute");
    expect(relativeExpiry(at(-20_000), now)).toBe("expired just now");
  });
});

describe("countdown", () => {
  it("formats m:ss and stops at zero", () => {
    expect(countdown(300_000)).toBe("5:00");
    expect(countdown(61_500)).toBe("1:02");
    expect(countdown(-5_000)).toBe("0:00");
  });
});
