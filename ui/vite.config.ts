/// <reference types="vitest/config" />
// Build, dev-server and unit-test settings for the window UI.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  // Tauri prints its own output in the same terminal; keep it readable.
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
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
    // One chunk, and WebKitGTK supports modulepreload: no polyfill needed.
    modulePreload: { polyfill: false },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    restoreMocks: true,
  },
});
