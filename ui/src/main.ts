// Entry point: mount the app into #app. (style.css is linked from index.html, so the
// dev server serves it as a file rather than injecting a <style> tag the CSP would block.)
import { startApp } from "./app";

const root = document.getElementById("app");
if (root) startApp(root);
