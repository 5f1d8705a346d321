/**
 * The Settings view. It holds "Remove all my data" with its confirmation (off the main page);
 * the resident-mode, start-at-login and notification settings join it with resident mode.
 */
import * as api from "../api";
import type { ForgetReport } from "../bindings";
import { confirmDialog } from "../dialogs";
import { button, h, replaceChildren } from "../dom";

export type SettingsEvents = {
  accountCount(): number;
  /** Removing failed part-way: show why (the accounts may have changed). */
  onError(e: unknown): void;
  /** Everything is gone: the window stops its timers, only the report stays. */
  onRemoved(): void;
};

export class SettingsView {
  readonly element: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly events: SettingsEvents,
  ) {
    this.element = h(
      "section",
      { class: "view", "data-view": "settings", "aria-labelledby": "settings-title" },
      h("div", { class: "section-head" }, h("h2", { class: "section-title", id: "settings-title" }, "Settings")),
      h(
        "section",
        { class: "section your-data", "aria-labelledby": "data-title" },
        h("h3", { class: "group-title", id: "data-title" }, "Your data"),
        h(
          "p",
          { class: "hint" },
          "Uninstalling Connected Accounts leaves your accounts and their tokens in place. To take everything back, remove it here: every account is disconnected (revoked where the provider allows), this app’s keychain entries, database and logs are deleted.",
        ),
        button("Remove all my data…", { class: "btn btn--danger", "data-testid": "forget-all" }, () => void this.forgetAll()),
      ),
    );
  }

  /** Removes everything after a confirmation, then leaves only a report and a Quit button. */
  private async forgetAll(): Promise<void> {
    const n = this.events.accountCount();
    const yes = await confirmDialog(this.root, {
      title: "Remove all your data?",
      message: `This disconnects ${n === 1 ? "your account" : `all ${n} accounts`}, deletes their tokens from the keychain and deletes this app’s database and logs. There is no undo.`,
      yes: "Remove everything",
      no: "Keep my data",
    });
    if (!yes) return;
    let report: ForgetReport;
    try {
      report = await api.forgetAll();
    } catch (e) {
      this.events.onError(e);
      return;
    }
    this.events.onRemoved();
    const list = (title: string, items: string[], testid: string) =>
      items.length === 0
        ? null
        : h("div", {}, h("h3", {}, title), h("ul", { "data-testid": testid }, ...items.map((i) => h("li", {}, i))));
    replaceChildren(
      this.root,
      h(
        "main",
        { class: "content forgotten", "data-testid": "forgotten" },
        h("h1", {}, "All your data is removed"),
        list("Revoked at the provider", report.revoked, "forgotten-revoked"),
        list("Removed here; access remains at the provider", report.not_revoked, "forgotten-not-revoked"),
        list("Deleted folders", report.removed, "forgotten-removed"),
        button("Quit Connected Accounts", { class: "btn btn--primary", "data-testid": "quit" }, () => void api.quitApp()),
      ),
    );
  }
}
