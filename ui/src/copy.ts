/** Copying a value to the clipboard, with a select-it-for-Ctrl+C fallback, and the row that offers it. */
import { button, h } from "./dom";

function selectContents(el: HTMLElement): void {
  const selection = window.getSelection();
  if (!selection) return;
  const range = document.createRange();
  range.selectNodeContents(el);
  selection.removeAllRanges();
  selection.addRange(range);
}

/** Copies `text`; when the clipboard is out of reach, selects `source` so Ctrl+C does it. */
export async function copyText(text: string, source: HTMLElement): Promise<boolean> {
  try {
    if (typeof navigator.clipboard?.writeText === "function") {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied or unsupported: fall back to the selection.
  }
  selectContents(source);
  try {
    return typeof document.execCommand === "function" && document.execCommand("copy");
  } catch {
    return false;
  }
}

const COPY_RESET_MS = 2000;

/**
 * A value shown as selectable text with a Copy button next to it (test id `${testId}-copy`).
 * `valueClass` adds a class to the value, e.g. to show a code large.
 */
export function copyRow(value: string, testId: string, what: string, valueClass?: string): HTMLElement {
  const code = h("code", { class: valueClass ? `copy-value ${valueClass}` : "copy-value", "data-testid": testId }, value);
  const status = h("span", { class: "copy-status small muted", role: "status" });
  let timer: number | null = null;
  const copy = button("Copy", { class: "btn btn--small", "data-testid": `${testId}-copy`, "aria-label": `Copy ${what}` }, () => {
    void copyText(value, code).then((ok) => {
      status.textContent = ok ? "Copied" : "Selected — press Ctrl+C to copy";
      if (timer !== null) window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        status.textContent = "";
        timer = null;
      }, COPY_RESET_MS);
    });
  });
  return h("div", { class: "copy-row" }, code, copy, status);
}
