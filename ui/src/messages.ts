/** The banners above the current view: the last error with its remedy, and the last notice. */
import * as api from "./api";
import type { Remedy } from "./bindings";
import { button, h, replaceChildren } from "./dom";

type Notice = { text: string; tone: "info" | "warn" };

export class Messages {
  readonly element = h("div", { class: "messages" });

  /** `onRemedy` applies a remedy from the banner's button (dismissing the error first). */
  constructor(private readonly onRemedy: (remedy: Remedy) => void = () => {}) {}
  private error: api.ErrorText | null = null;
  private notice: Notice | null = null;

  showError(e: unknown): void {
    this.error = api.errorText(e);
    this.render();
  }

  clearError(): void {
    if (!this.error) return;
    this.error = null;
    this.render();
  }

  showNotice(text: string, tone: Notice["tone"]): void {
    this.notice = { text, tone };
    this.render();
  }

  private remedyButton(remedy: Remedy | null): HTMLElement | null {
    const label = remedy ? api.remedyAction(remedy) : null;
    if (!remedy || !label) return null;
    return button(label, { class: "btn btn--small btn--primary", "data-testid": "error-remedy" }, () => {
      this.error = null;
      this.render();
      this.onRemedy(remedy);
    });
  }

  private render(): void {
    const parts: HTMLElement[] = [];
    if (this.error) {
      parts.push(
        h(
          "div",
          { class: "banner banner--error", "data-testid": "error-banner", role: "alert" },
          h(
            "div",
            { class: "banner-text" },
            h("p", { class: "banner-message", "data-testid": "error-message" }, this.error.message),
            this.error.hint ? h("p", { class: "banner-hint", "data-testid": "error-hint" }, this.error.hint) : null,
          ),
          this.remedyButton(this.error.remedy ?? null),
          button("Dismiss", { class: "btn btn--small", "data-testid": "error-dismiss", "aria-label": "Dismiss error" }, () => {
            this.error = null;
            this.render();
          }),
        ),
      );
    }
    if (this.notice) {
      parts.push(
        h(
          "div",
          { class: `banner banner--${this.notice.tone}`, "data-testid": "notice", role: "status" },
          h("div", { class: "banner-text" }, h("p", { class: "banner-message" }, this.notice.text)),
          button("Dismiss", { class: "btn btn--small", "data-testid": "notice-dismiss", "aria-label": "Dismiss notice" }, () => {
            this.notice = null;
            this.render();
          }),
        ),
      );
    }
    replaceChildren(this.element, ...parts);
  }
}
