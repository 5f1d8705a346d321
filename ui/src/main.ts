// Entry point: mount the app into #app. (style.css is linked from index.html, so the
// dev server serves it as a file rather than injecting a <style> tag the CSP would block.)
import { startApp } from "./app";

// Start-up milestones for profiling (bench/README.md): the script ran, the list was built.
performance.mark("ca:script");

const root = document.getElementById("app");
if (root) startApp(root);
