/** The test-request panel: "Testing…" while the probe runs, then the response the app received. */
import type { ProbeResult } from "./bindings";
import { openModal, type Modal } from "./dialogs";
import { button, h, replaceChildren } from "./dom";
import { probeDetails } from "./render";

export class TestView {
  private readonly modal: Modal;
  private readonly content: HTMLElement;

  constructor(background: HTMLElement, name: string) {
    this.content = h(
      "div",
      { class: "test-content" },
      h("p", { class: "pending", "data-testid": "test-pending", role: "status" }, "Testing…"),
    );
    const close = button("Close", { class: "btn", "data-testid": "test-close" }, () => this.close());
    this.modal = openModal(
      background,
      { testId: "test-view", title: `Test request — ${name}`, wide: true, onEscape: () => this.close() },
      h(
        "p",
        { class: "explain small" },
        "The request ran inside the app with this account’s access token. The token never reached this window; only the response is shown.",
      ),
      this.content,
      h("div", { class: "modal-actions" }, close),
    );
    close.focus();
  }

  show(result: ProbeResult): void {
    if (this.modal.closed) return;
    replaceChildren(this.content, probeDetails(result));
  }

  close(): void {
    this.modal.close();
  }
}
