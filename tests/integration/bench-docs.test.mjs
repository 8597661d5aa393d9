// Every benchmark figure in the READMEs and docs/design is generated from a committed
// results file (issue 11): the marked sections must be exactly what bench/report.mjs
// makes of those files, so a hand edit, or a results file changed without regenerating
// the documents, fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compareMarkdown, summaryMarkdown } from "../../bench/report.mjs";
import { summarize } from "../../bench/summary.mjs";
import { clusterSummary, summaryMarkdown as clusterSectionMarkdown } from "../../bench/cluster-report.mjs";
import { scalingSections } from "../../bench/scaling.mjs";

function section(file, tag) {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  const a = `<!-- bench:${tag}:start -->\n`, b = `\n<!-- bench:${tag}:end -->`;
  const i = text.indexOf(a), j = text.indexOf(b);
  assert.ok(i >= 0 && j > i, `${file} has a bench:${tag} section`);
  return text.slice(i + a.length, j);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const load = (f) => JSON.parse(fs.readFileSync(path.join(root, f), "utf8"));

test("README.md and docs/benchmarks/README.md show what the committed results.json says", () => {
  const r = load("docs/benchmarks/results.json");
  r.summary = summarize(r);
  const want = summaryMarkdown(r);
  for (const f of ["README.md", "docs/benchmarks/README.md"]) assert.equal(section(f, "results"), want, f);
  // and the summary stored in the file is what its scenarios say
  assert.deepEqual(load("docs/benchmarks/results.json").summary, r.summary);
});

// Runs compared side by side: results files named PREFIX-*.json, and the section of a
// document they are generated into.
const compared = [
  ["design-", "docs/design/exactly-once.md", "design"],
  ["choice-linger-", "docs/benchmarks/README.md", "choice-linger"],
  ["ab-memory-", "docs/benchmarks/README.md", "ab-memory"],
];
for (const [prefix, doc, tag] of compared)
  test(`${doc} shows what the committed ${prefix}*.json runs say`, () => {
    const dir = path.join(root, "docs/benchmarks");
    const runs = fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith(".json")).sort()
      .map((f) => load(path.join("docs/benchmarks", f)));
    assert.ok(runs.length >= 2, `at least two ${prefix}*.json runs are committed`);
    assert.equal(section(doc, tag), compareMarkdown(runs));
  });

test("docs/benchmarks/README.md and docs/scaling.md show what the committed cluster.json says", () => {
  const c = load("docs/benchmarks/cluster.json");
  c.summary = clusterSummary(c);
  assert.equal(section("docs/benchmarks/README.md", "cluster"), clusterSectionMarkdown(c));
  const sections = scalingSections(c, load("docs/benchmarks/results.json"));
  for (const [tag, body] of Object.entries(sections)) assert.equal(section("docs/scaling.md", tag), body, tag);
});
