/**
 * The Settings view: what closing the window does, automatic refresh and start at login (read
 * when the view is shown), and "Remove all my data" with its confirmation (off the main page).
 */
import * as api from "../api";
import type { CloseAction, ForgetReport, SettingsView as Settings } from "../bindings";
import { confirmDialog } from "../dialogs";
import { button, h, replaceChildren } from "../dom";

export type SettingsEvents = {
  accountCount(): number;
  /** Removing failed part-way: show why (the accounts may have changed). */
  onError(e: unknown): void;
  /** Everything is gone: the window stops its timers, only the report stays. */
  onRemoved(): void;
};

const CLOSE_CHOICES: [CloseAction, string][] = [
  ["ask", "Ask me"],
  ["keep_running", "Keep running in the background"],
  ["quit", "Quit"],
];

export class SettingsView {
  readonly element: HTMLElement;
  private readonly background: HTMLElement;

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
        { class: "section", "aria-labelledby": "background-title" },
        h("h3", { class: "group-title", id: "background-title" }, "In the background"),
        (this.background = h("div", { "data-testid": "background-settings" })),
      ),
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

  /** Reads the settings again (the tray's pause, or a close answer, may have changed them). */
  async load(): Promise<void> {
    try {
      this.renderBackground(await api.appSettings());
    } catch (e) {
      this.events.onError(e);
    }
  }

  private renderBackground(view: Settings): void {
    const { settings, can_keep_running: canKeep } = view;
    const choices = CLOSE_CHOICES.map(([value, label]) => {
      const input = h("input", { type: "radio", name: "close-action", value, "data-testid": `close-action-${value}` });
      input.checked = settings.close_action === value;
      input.addEventListener("change", () => void this.change(() => api.setCloseAction(value)));
      return h("label", { class: "choice" }, input, " ", label);
    });
    const paused = h("input", { type: "checkbox", "data-testid": "refresh-paused", "aria-describedby": "paused-hint" });
    paused.checked = settings.refresh_paused;
    paused.addEventListener("change", () => void this.change(() => api.setRefreshPaused(paused.checked)));
    replaceChildren(
      this.background,
      h(
        "fieldset",
        { class: "choices" },
        h("legend", {}, "When you close the window"),
        ...choices,
        canKeep
          ? null
          : h(
              "p",
              { class: "hint", id: "no-tray", "data-testid": "no-tray" },
              "This desktop shows no tray icons, so closing the window quits and the app cannot start at login: it would have nowhere to be found again. With a tray (on GNOME, the AppIndicator extension) it can keep running.",
            ),
      ),
      h("label", { class: "choice" }, paused, " Pause automatic refresh"),
      h("p", { class: "hint", id: "paused-hint" }, "Accounts still refresh when a program asks for a token."),
      ...this.startAtLogin(view),
    );
  }

  /** Where offered: a switch for the login entry (off, and not switchable on, with no tray). */
  private startAtLogin(view: Settings): HTMLElement[] {
    if (view.start_at_login === null) return [];
    const on = h("input", {
      type: "checkbox",
      "data-testid": "start-at-login",
      "aria-describedby": view.can_keep_running ? "login-hint" : "login-hint no-tray",
    });
    on.checked = view.start_at_login;
    on.disabled = !view.can_keep_running && !view.start_at_login;
    on.addEventListener("change", () => void this.change(() => api.setStartAtLogin(on.checked)));
    return [
      h("label", { class: "choice" }, on, " Start at login, in the background"),
      h(
        "p",
        { class: "hint", id: "login-hint" },
        "No window opens: the app waits in the tray and reads your tokens only when an account is due for refresh.",
      ),
    ];
  }

  private async change(apply: () => Promise<Settings>): Promise<void> {
    try {
      this.renderBackground(await apply());
    } catch (e) {
      this.events.onError(e);
      await this.load();
    }
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
