/**
 * The approval question (an account's policy is "ask"): which program wants what, and its
 * parents, as the app read them from the system. Deny is the default button; every button stays
 * disabled for the first second, so a click meant for something else cannot answer it. One
 * question shows at a time; others wait their turn. At its deadline it closes unanswered.
 */
import * as api from "./api";
import type { Choice, Question } from "./bindings";
import { openModal, type Modal } from "./dialogs";
import { button, h } from "./dom";

/** How long "this program in this session" lasts, in minutes (the app caps it at 12 h). */
export const SESSION_CHOICES: [number, string][] = [
  [10, "10 minutes"],
  [60, "1 hour"],
  [240, "4 hours"],
  [720, "12 hours"],
];

export function programName(path: string | null): string {
  if (!path) return "An unknown program";
  return path.split("/").pop() || path;
}

/** `git ← bash ← gnome-terminal-server`: the program, then its parents. */
export function chainText(q: Question): string {
  return [q.program, ...q.parents].map((p) => programName(p)).join(" ← ");
}

export function purposeText(q: Question): string {
  switch (q.purpose.kind) {
    case "token":
      return "a token";
    case "git":
      return `git for ${q.purpose.host}/${q.purpose.path}`;
    case "loosen":
      return `the access policy set to "${q.purpose.policy}"`;
  }
}

export class ApprovalDesk {
  private readonly waiting: Question[] = [];
  private readonly seen = new Set<string>();
  private shown: { question: Question; modal: Modal; timer: number } | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly now: () => number,
    private readonly answered: () => void,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** A question from the app; one it sent already (a page reload, a second window) is ignored. */
  add(question: Question): void {
    if (this.seen.has(question.id)) return;
    this.seen.add(question.id);
    this.waiting.push(question);
    this.next();
  }

  private next(): void {
    while (!this.shown) {
      const question = this.waiting.shift();
      if (!question) return;
      if (question.deadline_ms > this.now()) this.show(question);
    }
  }

  private show(q: Question): void {
    const program = programName(q.program);
    const loosen = q.purpose.kind === "loosen";
    const answer = (choice: Choice | null) => this.finish(q, choice);
    const deny = button(loosen ? "Keep it" : "Deny", { class: "btn", "data-testid": "approval-deny" }, () => answer({ kind: "deny" }));
    const once = button(loosen ? "Change it" : "Allow once", { class: "btn", "data-testid": "approval-once" }, () => answer({ kind: "once" }));
    const buttons: HTMLButtonElement[] = [deny, once];
    let sessionRow: HTMLElement | null = null;
    if (!loosen && q.program) {
      const minutes = h(
        "select",
        { "data-testid": "approval-minutes", "aria-label": "For how long" },
        ...SESSION_CHOICES.map(([m, label]) => h("option", { value: String(m) }, label)),
      );
      const session = button(`Allow ${program} in this session`, { class: "btn", "data-testid": "approval-session" }, () =>
        answer({ kind: "session", minutes: Number(minutes.value) }),
      );
      buttons.push(session);
      sessionRow = h("div", { class: "modal-actions approval-session" }, session, h("label", { class: "small" }, "for ", minutes));
    }
    let gitRow: HTMLElement | null = null;
    if (q.purpose.kind === "git") {
      const always = button("Always allow git for this account", { class: "btn", "data-testid": "approval-always-git" }, () =>
        answer({ kind: "always_git" }),
      );
      buttons.push(always);
      gitRow = h("div", { class: "modal-actions" }, always);
    }
    for (const b of buttons) b.disabled = true;
    const facts = h(
      "dl",
      { class: "approval-facts", "data-testid": "approval-facts" },
      h("dt", {}, "Program"),
      h("dd", { "data-testid": "approval-chain", title: [q.program, ...q.parents].filter(Boolean).join("\n") }, chainText(q)),
      h("dt", {}, "Folder"),
      h("dd", { "data-testid": "approval-cwd" }, q.cwd ?? "unknown"),
      h("dt", {}, "Account"),
      h("dd", { "data-testid": "approval-account" }, `${q.account_name} (${q.provider_name})`),
      h("dt", {}, "Wants"),
      h("dd", { "data-testid": "approval-purpose" }, purposeText(q)),
    );
    const modal = openModal(
      this.root,
      {
        testId: "approval-dialog",
        title: loosen ? `${program} asks to loosen the access policy` : `${program} asks for ${q.account_name}’s token`,
        onEscape: () => answer({ kind: "deny" }),
      },
      facts,
      h(
        "p",
        { class: "hint small" },
        "Only programs that go through Connected Accounts are asked. A program running as you can still read the system keychain directly.",
      ),
      h("div", { class: "modal-actions" }, deny, once),
      sessionRow,
      gitRow,
    );
    modal.panel.dataset.questionId = q.id;
    // A disabled button cannot hold focus: the dialog does, until Deny can.
    modal.panel.tabIndex = -1;
    modal.panel.focus();
    window.setTimeout(() => {
      for (const b of buttons) b.disabled = false;
      modal.panel.dataset.armed = "true";
      if (!modal.closed) deny.focus();
    }, q.arm_after_ms);
    // Past the deadline the app has answered "no answer" already: the question just closes.
    const left = Math.min(Math.max(0, q.deadline_ms - this.now()), 24 * 3600_000);
    const timer = window.setTimeout(() => answer(null), left);
    this.shown = { question: q, modal, timer };
  }

  private finish(q: Question, choice: Choice | null): void {
    if (this.shown?.question.id !== q.id) return;
    // Escape and the backdrop stay refused until the buttons are live, like the buttons.
    if (choice && this.shown.modal.panel.dataset.armed !== "true") return;
    window.clearTimeout(this.shown.timer);
    this.shown.modal.close();
    this.shown = null;
    if (choice) {
      api.answerApproval(q.id, choice).then(this.answered, this.onError);
    }
    this.next();
  }
}
