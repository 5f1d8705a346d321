// Lint rules for the window UI: typed TypeScript rules plus the project's
// safety rails (no HTML injection, no inline styles, one module talks to Tauri).
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: ["dist/", "node_modules/"] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      eqeqeq: ["error", "always"],
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "Build DOM with textContent; data is untrusted." },
        { property: "outerHTML", message: "Build DOM with textContent; data is untrusted." },
        { property: "insertAdjacentHTML", message: "Build DOM with textContent; data is untrusted." },
        { object: "document", property: "write", message: "Build DOM with textContent." },
        { property: "style", message: "The CSP forbids inline styles: toggle a class instead." },
        { object: "window", property: "confirm", message: "Use the in-page confirm dialog." },
        { object: "window", property: "alert", message: "Use the error banner." },
      ],
      "no-restricted-globals": [
        "error",
        { name: "confirm", message: "Use the in-page confirm dialog." },
        { name: "alert", message: "Use the error banner." },
        { name: "eval", message: "The CSP forbids eval." },
      ],
    },
  },
  {
    // Only api.ts (and the tests, for the IPC mocks) may touch @tauri-apps/api.
    files: ["src/**/*.ts"],
    ignores: ["src/api.ts", "src/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@tauri-apps/*"], message: "Call the backend through src/api.ts only." },
          ],
        },
      ],
    },
  },
  {
    // The fake backend rejects with plain UiError objects, exactly as Tauri's invoke does.
    files: ["src/**/*.test.ts", "test/**/*.ts"],
    rules: {
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
    },
  },
  {
    files: ["**/*.js"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
