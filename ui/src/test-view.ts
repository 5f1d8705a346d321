/** The test-request panel: "Testing…" while the probe runs, then the response the app received. */
import type { JsonValue, ProbeResult } from "./bindings";
import { openModal, type Modal } from "./dialogs";
import { button, h, replaceChildren } from "./dom";

export class TestView {
  private readonly modal: Modal;
  private readonly content: HTMLElement;

  constructor(
    background: HTMLElement,
    name: string,
    title = "Test request",
    private readonly onStepUp: ((scopes: string[]) => void) | null = null,
  ) {
    this.content = h(
      "div",
      { class: "test-content" },
      h("p", { class: "pending", "data-testid": "test-pending", role: "status" }, title === "Test request" ? "Testing…" : "Sending…"),
    );
    const close = button("Close", { class: "btn", "data-testid": "test-close" }, () => this.close());
    this.modal = openModal(
      background,
      { testId: "test-view", title: `${title} — ${name}`, wide: true, onEscape: () => this.close() },
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
    replaceChildren(this.content, this.stepUp(result), probeDetails(result));
  }

  /** A 403 that names missing scopes: offer to ask for them (never done on its own). */
  private stepUp(result: ProbeResult): HTMLElement | null {
    const missing = result.missing_scopes;
    if (!missing || missing.length === 0 || !this.onStepUp) return null;
    const onStepUp = this.onStepUp;
    return h(
      "div",
      { class: "step-up", "data-testid": "step-up", role: "status" },
      h("p", {}, `The API needs more access: ${missing.join(" ")}. A new sign-in can add it; the scopes already granted are kept.`),
      button("Add these scopes…", { class: "btn btn--primary", "data-testid": "step-up-connect" }, () => {
        this.close();
        onStepUp(missing);
      }),
    );
  }

  close(): void {
    this.modal.close();
  }
}

function prettyBody(body: JsonValue): string {
  if (typeof body === "string") return body;
  try {
    return JSON.stringify(body, null, 2) ?? "null";
  } catch {
    return "(the response body could not be displayed)";
  }
}

export function probeDetails(result: ProbeResult): HTMLElement {
  const ok = result.status >= 200 && result.status < 300;
  const headers = h(
    "table",
    { class: "headers", "data-testid": "test-headers" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Header"), h("th", { scope: "col" }, "Value"))),
    h(
      "tbody",
      {},
      ...result.headers.map(([name, value]) => h("tr", {}, h("td", {}, name), h("td", {}, value))),
    ),
  );
  return h(
    "div",
    { class: "probe", "data-testid": "test-result" },
    h(
      "p",
      { class: "request-line" },
      h("code", { "data-testid": "test-request" }, `${result.method} ${result.url}`),
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Status"),
      h(
        "dd",
        {},
        h("span", { class: ok ? "badge badge--ok" : "badge badge--bad", "data-testid": "test-status" }, String(result.status)),
      ),
      h("dt", {}, "Latency"),
      h("dd", {}, h("span", { "data-testid": "test-latency" }, `${Math.round(result.latency_ms)} ms`)),
    ),
    h("h3", { class: "small-heading" }, "Response headers"),
    result.headers.length > 0 ? headers : h("p", { class: "muted small" }, "No headers."),
    h("h3", { class: "small-heading" }, "Response body"),
    result.truncated
      ? h(
          "p",
          { class: "muted small", "data-testid": "test-truncated" },
          "The response was larger than 1 MiB: only its start was read, and is shown here.",
        )
      : null,
    h("pre", { class: "body", "data-testid": "test-body", tabindex: "0" }, prettyBody(result.body)),
  );
}
