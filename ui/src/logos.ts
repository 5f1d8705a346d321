/**
 * Provider logos. The built-in providers' SVGs (icons/providers/<id>.svg at the repository
 * root) are bundled by Vite, so nothing is fetched from the network; a provider without one
 * (those added by issuer URL) gets a lettermark drawn with CSS.
 */
import { h } from "./dom";

const files = import.meta.glob<string>("../../icons/providers/*.svg", {
  eager: true,
  query: "?url",
  import: "default",
});

/** Provider id → bundled logo URL. */
export const LOGOS: ReadonlyMap<string, string> = new Map(
  Object.entries(files).map(([path, url]) => [path.slice(path.lastIndexOf("/") + 1, -".svg".length), url]),
);

/** The first letter or digit of the name, for the lettermark. */
export function lettermark(name: string): string {
  const m = /[\p{L}\p{N}]/u.exec(name);
  return m ? m[0].toLocaleUpperCase() : "?";
}

/**
 * The logo for a provider row: decorative (the name is next to it), so it is hidden from
 * screen readers. Only built-in providers use the bundled files, so a provider added by
 * URL can never borrow a built-in's logo through a colliding id.
 */
export function providerLogo(provider: { id: string; name: string; builtin: boolean }): HTMLElement {
  const url = provider.builtin ? LOGOS.get(provider.id) : undefined;
  if (url) {
    return h("img", {
      class: "provider-logo",
      src: url,
      alt: "",
      width: 28,
      height: 28,
      draggable: "false",
      "data-testid": "provider-logo",
    });
  }
  return h(
    "span",
    { class: "provider-logo provider-logo--letter", "aria-hidden": "true", "data-testid": "provider-logo" },
    lettermark(provider.name),
  );
}
