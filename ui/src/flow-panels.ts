/** The waiting panels of a running sign-in: in the browser, or with a code on another device. */
import type { ConnectStarted, DeviceStarted, RedirectKind } from "./bindings";
import { copyRow } from "./copy";
import { button, h } from "./dom";
import { countdown } from "./time";

export type FlowPanelOptions = {
  started: ConnectStarted;
  /** How the browser hands the sign-in back: a loopback port, or the app's own scheme. */
  redirect: RedirectKind;
  providerName: string;
  remainingMs: number;
  cancelling: boolean;
  onCancel: () => void;
};

export function flowPanel(opts: FlowPanelOptions): HTMLElement {
  const url = h("input", {
    type: "text",
    readonly: true,
    class: "copy-field",
    "data-testid": "flow-authorize-url",
    value: opts.started.browser_url,
    spellcheck: "false",
    "aria-label": "Sign-in address",
  });
  url.addEventListener("focus", () => url.select());
  return h(
    "section",
    { class: "flow", "data-testid": "flow-waiting", "data-redirect": opts.redirect, "aria-labelledby": "flow-title" },
    h(
      "p",
      { class: "flow-title", id: "flow-title", role: "status" },
      `Waiting for you to finish signing in to ${opts.providerName} in your browser…`,
    ),
    opts.redirect === "custom_scheme"
      ? h(
          "p",
          { class: "small", "data-testid": "flow-app-link" },
          "When you approve, the browser hands the sign-in back to this app through the app’s own address below. If the browser asks whether to open Connected Accounts, allow it.",
        )
      : null,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Redirect URI"),
      h("dd", {}, h("code", { "data-testid": "flow-redirect-uri" }, opts.started.redirect_uri)),
      h("dt", {}, "Time left"),
      h("dd", {}, h("span", { class: "countdown", "data-testid": "flow-countdown" }, countdown(opts.remainingMs))),
    ),
    h(
      "details",
      { class: "flow-help" },
      h("summary", {}, "Browser did not open?"),
      h("p", { class: "small" }, "Copy this address into your browser:"),
      url,
    ),
    h(
      "div",
      { class: "actions" },
      button(
        opts.cancelling ? "Cancelling…" : "Cancel",
        { class: "btn", "data-testid": "cancel-flow", disabled: opts.cancelling },
        opts.onCancel,
      ),
    ),
  );
}

export type DevicePanelOptions = {
  started: DeviceStarted;
  providerName: string;
  remainingMs: number;
  cancelling: boolean;
  onCancel: () => void;
};

/** A device sign-in in progress: where to go, the code to type there, and how long it stays valid. */
export function devicePanel(opts: DevicePanelOptions): HTMLElement {
  const { started } = opts;
  return h(
    "section",
    { class: "flow flow--device", "data-testid": "device-waiting", "aria-labelledby": "device-title" },
    h(
      "p",
      { class: "flow-title", id: "device-title", role: "status" },
      `Waiting for you to sign in to ${opts.providerName} with a code…`,
    ),
    h(
      "p",
      { class: "device-instruction", "data-testid": "device-instruction" },
      "Open ",
      h("strong", { class: "device-uri" }, started.verification_uri),
      " on any device and enter this code:",
    ),
    copyRow(started.user_code, "device-user-code", "the code", "device-code"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Address"),
      h("dd", {}, copyRow(started.verification_uri, "device-verification-uri", "the address")),
      h("dt", {}, "Time left"),
      h("dd", {}, h("span", { class: "countdown", "data-testid": "device-countdown" }, countdown(opts.remainingMs))),
    ),
    h(
      "p",
      { class: "small muted" },
      "The app also opened this page in the browser on this computer; sign in there instead if that is easier.",
    ),
    h(
      "div",
      { class: "actions" },
      button(
        opts.cancelling ? "Cancelling…" : "Cancel",
        { class: "btn", "data-testid": "cancel-device", disabled: opts.cancelling },
        opts.onCancel,
      ),
    ),
  );
}

