/**
 * The window's frame: a sidebar with the four views, and the main area with the messages, the
 * running sign-in and the current view. Only the current view is shown; the others keep their
 * state (typed text, unfolded panels) while hidden.
 */
import { h } from "../dom";

/** The sidebar's sections. */
export type Section = "accounts" | "providers" | "activity" | "settings";
/** Every view: the sections, and an account's page (under Accounts). */
export type ViewName = Section | "account";

const LABELS: Record<Section, string> = {
  accounts: "Accounts",
  providers: "Providers",
  activity: "Activity",
  settings: "Settings",
};

export class Shell {
  readonly element: HTMLElement;
  private current: ViewName = "accounts";
  private readonly tabs = new Map<Section, HTMLButtonElement>();
  private readonly views = new Map<ViewName, HTMLElement>();

  constructor(
    views: Record<ViewName, HTMLElement>,
    messages: HTMLElement,
    flowSlot: HTMLElement,
    private readonly onShow: (view: ViewName) => void = () => {},
  ) {
    for (const [name, view] of Object.entries(views)) this.views.set(name as ViewName, view);
    const items = (Object.keys(LABELS) as Section[]).map((name) => {
      const tab = h(
        "button",
        { type: "button", class: "nav-item", "data-testid": `nav-${name}`, "data-view": name },
        LABELS[name],
      );
      tab.addEventListener("click", () => this.show(name));
      this.tabs.set(name, tab);
      return h("li", {}, tab);
    });
    const list = h("ul", { class: "nav-list" }, ...items);
    // Up and Down move between the sections, as in a desktop sidebar.
    list.addEventListener("keydown", (ev) => {
      if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
      const names = [...this.tabs.keys()];
      const at = names.findIndex((n) => this.tabs.get(n) === document.activeElement);
      if (at < 0) return;
      ev.preventDefault();
      const next = names[(at + (ev.key === "ArrowDown" ? 1 : names.length - 1)) % names.length];
      if (next) this.tabs.get(next)?.focus();
    });
    this.element = h(
      "div",
      { class: "shell" },
      h(
        "nav",
        { class: "sidebar", "aria-label": "Sections" },
        h("p", { class: "app-name" }, "Connected Accounts"),
        list,
        h("p", { class: "sidebar-note small" }, "Tokens stay in the system keychain and never reach this window."),
      ),
      h("main", { class: "content" }, messages, flowSlot, ...Object.values(views)),
    );
    this.show("accounts");
  }

  view(): ViewName {
    return this.current;
  }

  /**
   * Shows `name`. `focus` moves focus to its heading, for a switch made from inside another
   * view (a screen reader then follows); the sidebar keeps focus when it was used.
   */
  show(name: ViewName, focus = false): void {
    this.current = name;
    const section: Section = name === "account" ? "accounts" : name;
    for (const [n, tab] of this.tabs) {
      if (n === section) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    for (const [n, view] of this.views) view.hidden = n !== name;
    document.body.dataset.view = name;
    if (focus) {
      const heading = this.views.get(name)?.querySelector<HTMLElement>("h2");
      if (heading) {
        heading.tabIndex = -1;
        heading.focus();
      }
    }
    this.onShow(name);
  }
}
