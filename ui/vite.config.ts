/// <reference types="vitest/config" />
// Build, dev-server and unit-test settings for the window UI.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
// The built-in providers' logos live at the repository root (shared with the Rust side);
// src/logos.ts bundles them, so the dev server must be allowed to read that folder.
const providerIcons = fileURLToPath(new URL("../icons/providers/", import.meta.url));

export default defineConfig({
  root,
  // Tauri prints its own output in the same terminal; keep it readable.
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    // Setting `allow` replaces Vite's default, so the UI folder itself is listed too.
    fs: { strict: true, allow: [root, providerIcons] },
  },
  preview: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK on Debian 12 / Ubuntu 22.04 is roughly Safari 15.
    target: ["es2021", "safari15"],
    sourcemap: false,
    // Emit any asset as a file served from 'self', never as a data: URL (the provider logos are
    // bundled as text and placed inline: src/logos.ts).
    assetsInlineLimit: 0,
    // One chunk, and WebKitGTK supports modulepreload: no polyfill needed.
    modulePreload: { polyfill: false },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    restoreMocks: true,
  },
});
