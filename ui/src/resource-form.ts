/**
 * "Add by URL": connect to an API by pasting its address. The API names its authorization server
 * (RFC 9728); where that server is on another site, the person confirms that the API may receive
 * its tokens before anything is added or signed in.
 */
import type { ResourcePlan } from "./bindings";
import { button, h, replaceChildren } from "./dom";

export type ResourceActions = {
  /** Reads the API's metadata; null when that failed (the action reports the error). */
  plan(url: string): Promise<ResourcePlan | null>;
  /** Starts the sign-in for the API; `confirmed`: the person agreed to the question. */
  connect(url: string, label: string, confirmed: boolean): void;
};

/** The question for an API on another site than its server, or null when none is needed. */
export function resourceQuestion(plan: ResourcePlan): string | null {
  if (!plan.found.cross_origin || plan.confirmed_before) return null;
  return `${plan.found.resource} will receive tokens from ${plan.found.authorization_server} for the account you sign in with.`;
}

export class ResourceForm {
  readonly opener: HTMLButtonElement;
  readonly form: HTMLFormElement;
  private readonly input = h("input", {
    type: "text",
    name: "resource",
    autocomplete: "off",
    spellcheck: "false",
    inputmode: "url",
    placeholder: "https://api.example.com/mcp",
    "data-testid": "resource-url",
  });
  /** The question, when one is needed, with its two answers. */
  private readonly confirmSlot = h("div", { "data-testid": "resource-confirm-slot" });
  private readonly problem = h("p", { class: "form-error", role: "alert", "data-testid": "resource-error", hidden: true });

  constructor(private readonly actions: ResourceActions) {
    this.opener = button(
      "Add by URL",
      { class: "btn", "data-testid": "resource-open", "aria-expanded": "false", "aria-controls": "add-resource" },
      () => (this.form.hidden ? this.open() : this.close()),
    );
    const next = h("button", { type: "submit", class: "btn btn--primary", "data-testid": "resource-submit" }, "Continue");
    this.form = h(
      "form",
      { class: "add-provider", id: "add-resource", "data-testid": "resource-form", hidden: true, novalidate: true },
      h(
        "p",
        { class: "small muted" },
        "Paste the address of an API that names its sign-in server (OAuth protected resource metadata). The app registers itself there where it can, and asks for tokens for that API alone.",
      ),
      h("label", { class: "field" }, h("span", { class: "field-label" }, "API URL"), this.input),
      this.problem,
      this.confirmSlot,
      h("div", { class: "actions" }, button("Cancel", { class: "btn", "data-testid": "resource-cancel" }, () => this.close()), next),
    );
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.submit(next);
    });
  }

  open(): void {
    this.form.hidden = false;
    this.opener.setAttribute("aria-expanded", "true");
    this.input.focus();
  }

  close(): void {
    this.form.hidden = true;
    this.problem.hidden = true;
    replaceChildren(this.confirmSlot);
    this.opener.setAttribute("aria-expanded", "false");
    this.opener.focus();
  }

  private async submit(next: HTMLButtonElement): Promise<void> {
    const url = this.input.value.trim();
    replaceChildren(this.confirmSlot);
    if (!/^https?:\/\/\S+$/.test(url)) {
      this.problem.textContent = "Enter the API's full address, like https://api.example.com/mcp.";
      this.problem.hidden = false;
      return;
    }
    this.problem.hidden = true;
    next.disabled = true;
    let plan: ResourcePlan | null;
    try {
      plan = await this.actions.plan(url);
    } finally {
      next.disabled = false;
    }
    if (!plan) return;
    const label = plan.found.name ?? plan.found.resource;
    const question = resourceQuestion(plan);
    if (question === null) {
      this.finish(url, label, false);
      return;
    }
    // Nothing is added or signed in before the person answers.
    const yes = button("Sign in", { class: "btn btn--primary", "data-testid": "resource-confirm" }, () => this.finish(url, label, true));
    replaceChildren(
      this.confirmSlot,
      h(
        "div",
        { class: "confirm", role: "group", "aria-label": "Confirm", "data-testid": "resource-question" },
        h("p", {}, question),
        h("p", { class: "small muted" }, "Go on only if you trust this API with that account."),
        h("div", { class: "actions" }, button("Do not connect", { class: "btn", "data-testid": "resource-decline" }, () => this.close()), yes),
      ),
    );
    yes.focus();
  }

  private finish(url: string, label: string, confirmed: boolean): void {
    this.form.reset();
    this.close();
    this.actions.connect(url, label, confirmed);
  }
}
