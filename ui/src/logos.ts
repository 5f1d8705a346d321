/**
 * Provider logos. The built-in providers' SVGs (icons/providers/<id>.svg at the repository
 * root) are bundled by Vite as text and placed inline, so nothing is fetched (not even from the
 * app itself) and a logo is in the same paint as its row; a provider without one (those added
 * by issuer URL) gets a lettermark drawn with CSS.
 */
import { h } from "./dom";

const files = import.meta.glob<string>("../../icons/providers/*.svg", {
  eager: true,
  query: "?raw",
  import: "default",
});

/** Provider id → the logo's SVG markup (our own files, bundled at build time). */
export const LOGOS: ReadonlyMap<string, string> = new Map(
  Object.entries(files).map(([path, svg]) => [path.slice(path.lastIndexOf("/") + 1, -".svg".length), svg]),
);

const parsed = new Map<string, SVGSVGElement | null>();

/** The logo as an element, parsed once per provider; null if the markup is not an SVG. */
function logoElement(id: string, markup: string): SVGSVGElement | null {
  if (!parsed.has(id)) {
    const root = new DOMParser().parseFromString(markup, "image/svg+xml").documentElement;
    let svg: SVGSVGElement | null = null;
    if (root.namespaceURI === "http://www.w3.org/2000/svg" && root.localName === "svg") {
      svg = document.importNode(root, true) as unknown as SVGSVGElement;
      // Decorative here (the name is next to it): no title or label for screen readers.
      svg.querySelectorAll("title").forEach((t) => t.remove());
      svg.removeAttribute("role");
      svg.removeAttribute("aria-label");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      svg.setAttribute("width", "28");
      svg.setAttribute("height", "28");
      svg.setAttribute("class", "provider-logo");
    }
    parsed.set(id, svg);
  }
  const template = parsed.get(id);
  return template ? (template.cloneNode(true) as SVGSVGElement) : null;
}

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
export function providerLogo(provider: { id: string; name: string; builtin: boolean }): Element {
  const markup = provider.builtin ? LOGOS.get(provider.id) : undefined;
  const svg = markup ? logoElement(provider.id, markup) : null;
  if (svg) {
    svg.setAttribute("data-testid", "provider-logo");
    svg.setAttribute("data-logo", provider.id);
    return svg;
  }
  return h(
    "span",
    { class: "provider-logo provider-logo--letter", "aria-hidden": "true", "data-testid": "provider-logo" },
    lettermark(provider.name),
  );
}
