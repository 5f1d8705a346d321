/**
 * In-page modal dialogs: the confirm prompt and the frame the test view sits in.
 * While one is open the rest of the page is inert, Escape closes it, and focus
 * returns to where it was.
 */
import { button, h, type Child } from "./dom";

export type Modal = {
  /** The dialog box itself (carries role="dialog" and the test id). */
  panel: HTMLElement;
  close(): void;
  readonly closed: boolean;
};

let nextId = 0;

function setBackgroundInert(background: HTMLElement, inert: boolean): void {
  if (inert) background.setAttribute("inert", "");
  else background.removeAttribute("inert");
}

/**
 * Opens a modal over `background` (the app root, made inert meanwhile).
 * `onEscape` runs when the user presses Escape or clicks the backdrop.
 */
export function openModal(
  background: HTMLElement,
  opts: { testId: string; title: string; wide?: boolean; onEscape: () => void },
  ...children: Child[]
): Modal {
  const titleId = `modal-title-${++nextId}`;
  const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const panel = h(
    "div",
    {
      class: opts.wide ? "modal modal--wide" : "modal",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": titleId,
      "data-testid": opts.testId,
    },
    h("h2", { id: titleId, class: "modal-title" }, opts.title),
    ...children,
  );
  const overlay = h("div", { class: "overlay" }, panel);
  let closed = false;

  overlay.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      opts.onEscape();
    }
  });
  overlay.addEventListener("mousedown", (ev) => {
    if (ev.target === overlay) opts.onEscape();
  });

  document.body.appendChild(overlay);
  setBackgroundInert(background, true);

  return {
    panel,
    get closed() {
      return closed;
    },
    close() {
      if (closed) return;
      closed = true;
      overlay.remove();
      if (!document.querySelector(".overlay")) setBackgroundInert(background, false);
      if (previous && previous.isConnected) previous.focus();
      else if (previous) sameControl(previous)?.focus();
    },
  };
}

/**
 * The control that replaced `el` when its view was rebuilt while a dialog was open: the same
 * test id inside the same account (a Test button whose page re-rendered after the test).
 */
function sameControl(el: HTMLElement): HTMLElement | null {
  const testId = el.dataset.testid;
  if (!testId) return null;
  const accountId = el.closest<HTMLElement>("[data-account-id]")?.dataset.accountId;
  const candidates = [...document.querySelectorAll<HTMLElement>(`[data-testid="${testId}"]`)];
  return (
    candidates.find((c) => !c.closest("[hidden]") && c.closest<HTMLElement>("[data-account-id]")?.dataset.accountId === accountId) ??
    null
  );
}

export type ConfirmOptions = {
  title: string;
  message: string;
  /** A value the user may want to copy, shown in a read-only field. */
  copyable?: { label: string; value: string } | null;
  yes: string;
  no: string;
};

/** Asks a yes/no question in the page; resolves true only on an explicit yes. */
export function confirmDialog(background: HTMLElement, opts: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    let modal: Modal | null = null;
    const finish = (answer: boolean) => {
      modal?.close();
      resolve(answer);
    };
    const no = button(opts.no, { "data-testid": "confirm-no", class: "btn" }, () => finish(false));
    const yes = button(opts.yes, { "data-testid": "confirm-yes", class: "btn btn--danger" }, () =>
      finish(true),
    );
    let copy: HTMLElement | null = null;
    if (opts.copyable) {
      const field = h("input", {
        type: "text",
        readonly: true,
        class: "copy-field",
        "data-testid": "confirm-copy",
        value: opts.copyable.value,
        spellcheck: "false",
      });
      field.addEventListener("focus", () => field.select());
      copy = h("label", { class: "field" }, h("span", { class: "field-label" }, opts.copyable.label), field);
    }
    modal = openModal(
      background,
      { testId: "confirm-dialog", title: opts.title, onEscape: () => finish(false) },
      h("p", { class: "modal-message", "data-testid": "confirm-message" }, opts.message),
      copy,
      h("div", { class: "modal-actions" }, no, yes),
    );
    // The safe answer has focus, so a stray Enter does not destroy anything.
    no.focus();
  });
}

/**
 * Closing the window for the first time: keep running in the background (reachable from the tray)
 * or quit. Resolves "keep", "quit", or null when the person backs out (Escape): the window stays.
 */
export function closeQuestion(background: HTMLElement): Promise<"keep" | "quit" | null> {
  return new Promise((resolve) => {
    let modal: Modal | null = null;
    const finish = (answer: "keep" | "quit" | null) => {
      modal?.close();
      resolve(answer);
    };
    const quit = button("Quit", { "data-testid": "close-quit", class: "btn" }, () => finish("quit"));
    const keep = button("Keep running", { "data-testid": "close-keep", class: "btn btn--primary" }, () =>
      finish("keep"),
    );
    modal = openModal(
      background,
      { testId: "close-dialog", title: "Keep Connected Accounts running?", onEscape: () => finish(null) },
      h(
        "p",
        { class: "modal-message" },
        "In the background it keeps your accounts signed in and tells you before a sign-in ends. Open it again from its icon in the tray. You can change this in Settings.",
      ),
      h("div", { class: "modal-actions" }, quit, keep),
    );
    keep.focus();
  });
}

/**
 * Closing the window where the app cannot keep running (no tray), said once: why it quits.
 * Resolves true to quit, false when the person backs out (Escape): the window stays.
 */
export function closingQuits(background: HTMLElement): Promise<boolean> {
  return new Promise((resolve) => {
    let modal: Modal | null = null;
    const finish = (quit: boolean) => {
      modal?.close();
      resolve(quit);
    };
    const quit = button("Quit", { "data-testid": "closing-quits-ok", class: "btn btn--primary" }, () => finish(true));
    modal = openModal(
      background,
      { testId: "closing-quits", title: "Closing the window quits Connected Accounts", onEscape: () => finish(false) },
      h(
        "p",
        { class: "modal-message" },
        "This desktop shows no tray icons, so Connected Accounts cannot keep running where you could find it again; while it is closed, accounts refresh only when a program asks for a token. With a tray (on GNOME, the AppIndicator extension) it can keep running in the background.",
      ),
      h("div", { class: "modal-actions" }, quit),
    );
    quit.focus();
  });
}
