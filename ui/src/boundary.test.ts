// Only api.ts may talk to Tauri: every other source file goes through it.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const srcDir = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

// import … from "@tauri-apps/…", import("@tauri-apps/…"), require("@tauri-apps/…"), export … from "@tauri-apps/…"
const TAURI_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']@tauri-apps\/api(?:\/[^"']*)?["']/;

describe("the Tauri boundary", () => {
  const files = sourceFiles(srcDir).map((path) => ({
    name: relative(srcDir, path).split("\\").join("/"),
    text: readFileSync(path, "utf8"),
  }));

  it("finds the sources it checks", () => {
    const names = files.map((f) => f.name);
    expect(names).toContain("api.ts");
    expect(names).toContain("app.ts");
    expect(names).toContain("main.ts");
  });

  it("the pattern catches every import form", () => {
    expect(TAURI_IMPORT.test('import { invoke } from "@tauri-apps/api/core";')).toBe(true);
    expect(TAURI_IMPORT.test("import * as t from '@tauri-apps/api';")).toBe(true);
    expect(TAURI_IMPORT.test('const m = await import("@tauri-apps/api/event");')).toBe(true);
    expect(TAURI_IMPORT.test('import "@tauri-apps/api/core";')).toBe(true);
    expect(TAURI_IMPORT.test('export { invoke } from "@tauri-apps/api/core";')).toBe(true);
    expect(TAURI_IMPORT.test('import { h } from "./dom";')).toBe(false);
  });

  it("api.ts is the only application module that imports @tauri-apps/api", () => {
    const offenders = files
      .filter((f) => f.name !== "api.ts" && !f.name.endsWith(".test.ts"))
      .filter((f) => TAURI_IMPORT.test(f.text))
      .map((f) => f.name);
    expect(offenders).toEqual([]);
    expect(TAURI_IMPORT.test(files.find((f) => f.name === "api.ts")?.text ?? "")).toBe(true);
  });

  it("tests use only the IPC mocks, never the real bridge", () => {
    const offenders = files
      .filter((f) => f.name.endsWith(".test.ts"))
      .flatMap((f) =>
        [...f.text.matchAll(/["'](@tauri-apps\/api(?:\/[^"']*)?)["']/g)]
          .map((m) => m[1])
          .filter((spec) => spec !== "@tauri-apps/api/mocks" && f.name !== "boundary.test.ts")
          .map((spec) => `${f.name}: ${spec}`),
      );
    expect(offenders).toEqual([]);
  });
});
