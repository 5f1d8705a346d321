/** How times are shown: relative expiry, absolute titles, flow countdowns, log stamps. */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function parse(iso: string): number | null {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

function duration(ms: number): string {
  const minutes = Math.floor(ms / MINUTE);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(ms / HOUR);
  if (hours < 48) {
    const rest = minutes - hours * 60;
    return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
  }
  const days = Math.floor(ms / DAY);
  return `${days} days`;
}

/** "expires in 59 min", "expired 3 min ago", "no expiry". */
export function relativeExpiry(expiresAt: string | null, now: number): string {
  if (expiresAt === null || expiresAt === "") return "no expiry";
  const at = parse(expiresAt);
  if (at === null) return `expires ${expiresAt}`;
  const diff = at - now;
  if (diff >= 0) {
    return diff < MINUTE ? "expires in less than a minute" : `expires in ${duration(diff)}`;
  }
  return -diff < MINUTE ? "expired just now" : `expired ${duration(-diff)} ago`;
}

/** "just now", "3 min ago", "2 days ago". */
export function relativePast(iso: string, now: number): string {
  const at = parse(iso);
  if (at === null) return iso;
  const diff = Math.max(0, now - at);
  return diff < MINUTE ? "just now" : `${duration(diff)} ago`;
}

/** The local date and time, for title attributes and the activity list. */
export function absoluteTime(iso: string): string {
  const at = parse(iso);
  if (at === null) return iso;
  return new Date(at).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** "4:05" for a flow's remaining time; never negative. */
export function countdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${s.toString().padStart(2, "0")}`;
}
