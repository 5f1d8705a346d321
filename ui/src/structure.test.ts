/**
 * Each view's accessible structure (roles, names, the text a screen reader meets), kept as a
 * snapshot: an unnoticed change to what a view says or how it is built shows up here, without
 * comparing pixels. Roles and names come from dom-accessibility-api, the computation Testing
 * Library uses. After a deliberate change: `npx vitest run -u`, then read the diff.
 */
// Times on the page are shown in the local zone: pinned, so the snapshot is the same anywhere.
process.env.TZ = "UTC";
import { computeAccessibleName, getRole, isInaccessible } from "dom-accessibility-api";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Account } from "./bindings";
import { FakeBackend, account, builtin, provider } from "../test/fake-backend";
import { boot as start, stopApp } from "../test/window";

afterEach(stopApp);

/** Roles worth a line; plain groups and generic containers only nest their children. */
const SHOWN = new Set([
  "button", "link", "heading", "list", "listitem", "navigation", "main", "region", "textbox",
  "searchbox", "combobox", "option", "dialog", "alert", "status", "img", "term", "definition",
  "checkbox", "radio", "group", "table", "row", "cell", "columnheader",
]);

/** An indented outline: `role "name"` per element that has a role worth showing, and text. */
function outline(root: Element, depth = 0, out: string[] = []): string[] {
  for (const child of root.children) {
    if (child instanceof HTMLElement && (child.hidden || isInaccessible(child))) continue;
    const role = getRole(child);
    let next = depth;
    if (role && SHOWN.has(role)) {
      let name = computeAccessibleName(child).replace(/\s+/g, " ").trim();
      // Roles named by nobody (a term, a cell) still say their text.
      if (!name && child.children.length === 0) name = child.textContent?.replace(/\s+/g, " ").trim() ?? "";
      const extra = child.getAttribute("aria-current") ? ` [current=${child.getAttribute("aria-current")}]` : "";
      out.push(`${"  ".repeat(depth)}${role}${name ? ` "${name}"` : ""}${extra}`);
      next = depth + 1;
    } else if (child.children.length === 0 && child.textContent?.trim()) {
      out.push(`${"  ".repeat(depth)}text "${child.textContent.replace(/\s+/g, " ").trim()}"`);
    }
    outline(child, next, out);
  }
  return out;
}

const accounts = (): Account[] => [
  account({ id: "a1", display_name: "Alice", email: "alice@example.org", provider: "github", provider_name: "GitHub" }),
  account({ id: "b2", display_name: "Bob", email: "bob@example.org", provider: "example", provider_name: "Example ID", status: "needs_reconnect", last_error: "the grant was revoked" }),
];

async function boot(list: Account[]): Promise<void> {
  const backend = new FakeBackend({
    list_providers: () => [builtin("github", { configured: true, client_id: "gh", scopes: ["repo"] }), builtin("gitlab"), provider()],
    list_accounts: () => list,
    recover_interrupted: () => list,
    audit_log: () => [
      { id: 1, at: "2025-06-01T11:00:00Z", kind: "refreshed", account_id: "a1", provider_id: "github", detail: "", consumer: null, count: 1, last_at: null },
    ],
    last_reads: () => [],
    watch_accounts: () => null,
    watch_app: () => null,
    app_settings: () => ({ settings: { close_action: "ask", refresh_paused: false }, can_keep_running: true, start_at_login: false }),
    window_ready: () => null,
  });
  await start(backend);
}

const click = (testId: string) => document.querySelector<HTMLElement>(`[data-testid="${testId}"]`)?.click();
const main = () => document.querySelector("main") ?? document.body;

describe("accessible structure", () => {
  it("of the sidebar and the accounts list", async () => {
    await boot(accounts());
    expect(outline(document.body).join("\n")).toMatchSnapshot();
  });

  it("of an account's page", async () => {
    await boot(accounts());
    const bob = [...document.querySelectorAll<HTMLElement>('[data-testid="account-item"]')].find((i) => i.dataset.accountId === "b2");
    bob?.querySelector<HTMLElement>('[data-testid="account-open"]')?.click();
    expect(outline(main()).join("\n")).toMatchSnapshot();
  });

  it("of the providers, activity and settings views", async () => {
    await boot(accounts());
    for (const view of ["providers", "activity", "settings"]) {
      click(`nav-${view}`);
      // Settings are read when the view is shown.
      if (view === "settings") await vi.waitFor(() => expect(document.querySelector('[name="close-action"]')).not.toBeNull());
      expect(outline(main()).join("\n")).toMatchSnapshot(view);
    }
  });

  it("of the first run", async () => {
    await boot([]);
    expect(outline(main()).join("\n")).toMatchSnapshot();
  });
});
