/**
 * The Settings view. It holds "Remove all my data" with its confirmation (off the main page);
 * the resident-mode, start-at-login and notification settings join it with resident mode.
 */
import { button, h } from "../dom";

export class SettingsView {
  readonly element: HTMLElement;

  constructor(onForgetAll: () => void) {
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
        button("Remove all my data…", { class: "btn btn--danger", "data-testid": "forget-all" }, onForgetAll),
      ),
    );
  }
}
