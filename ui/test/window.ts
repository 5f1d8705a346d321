/**
 * Test support: the whole app started over a fake backend in jsdom, and the few ways tests
 * find and press things in it. Each test file calls `afterEach(stopApp)`.
 */
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { startApp, type AppHandle } from "../src/app";
import { NOW, type FakeBackend } from "./fake-backend";

let handle: AppHandle | null = null;

/** Starts the app on a fresh root over `backend`, without waiting (`.started` resolves after
 * the first paint). `stopApp` stops it. */
export function launch(backend: FakeBackend, now: () => number = () => NOW): AppHandle {
  mockIPC(backend.handle);
  const root = document.createElement("div");
  root.id = "app";
  document.body.appendChild(root);
  handle = startApp(root, { now });
  return handle;
}

/** Starts the app over `backend` and waits for its first paint. */
export async function boot(backend: FakeBackend, now: () => number = () => NOW): Promise<void> {
  await launch(backend, now).started;
}

/** Stops the app and its timers and clears the page and the IPC mock. */
export function stopApp(): void {
  handle?.stop();
  handle = null;
  clearMocks();
  document.body.replaceChildren();
  delete document.body.dataset.ready;
}

export const byTestId = (id: string, scope: ParentNode = document) => scope.querySelector<HTMLElement>(`[data-testid="${id}"]`);
export const allByTestId = (id: string, scope: ParentNode = document) => [
  ...scope.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`),
];

export function click(el: Element | null): void {
  if (!el) throw new Error("nothing to click");
  (el as HTMLElement).click();
}
