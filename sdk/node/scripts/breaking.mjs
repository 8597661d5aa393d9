// `buf breaking` of proto/ against the same directory on the main branch: roomcast.v1 only
// ever gains fields (a change that would break a reader of old records, or code generated
// from them, belongs in roomcast.v2). main's proto/ is taken with `git archive`, which
// works in a clean clone, a shallow one and a worktree alike; origin/main is used when
// there is no local main. On main itself this compares main with itself.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const git = (...args) => execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const ref = ["main", "origin/main"].find((r) => {
  try {
    git("rev-parse", "--verify", "--quiet", `${r}^{commit}`);
    return true;
  } catch {
    return false;
  }
});
if (!ref) {
  console.error("buf breaking: no main branch to compare proto/ with (git fetch origin main)");
  process.exit(1);
}
const dir = mkdtempSync(path.join(os.tmpdir(), "roomcast-proto-main-"));
try {
  const tar = execFileSync("git", ["-C", root, "archive", ref, "proto"]);
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  execFileSync("buf", ["breaking", path.join(root, "proto"), "--against", path.join(dir, "proto")], { stdio: "inherit" });
  console.log(`buf breaking: proto/ keeps every field of ${ref}`);
} catch (e) {
  if (e.status === undefined) throw e;
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
