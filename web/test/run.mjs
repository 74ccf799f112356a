// Bundles test/*.test.ts with esbuild into a temporary folder and runs them
// with node's test runner. The tests cover the client's pure logic (no DOM).
// npm packages stay external, so the folder lives under node_modules/ where
// node finds them (a folder in the system's tmp could not import ts-mls).

import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const files = (await readdir(here)).filter((f) => f.endsWith(".test.ts")).sort();
if (files.length === 0) {
  console.error("no test files in", here);
  process.exit(1);
}
await mkdir(join(here, "../node_modules/.cache"), { recursive: true });
const out = await mkdtemp(join(here, "../node_modules/.cache/kaigi-web-test-"));
let status = 1;
try {
  await build({
    entryPoints: files.map((f) => join(here, f)),
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    packages: "external",
    logLevel: "warning",
  });
  const compiled = files.map((f) => join(out, f.replace(/\.ts$/, ".mjs")));
  // The signalling messages' fixtures, shared with the Go side (wire-fixtures.ts).
  const env = { ...process.env, KAIGI_WIRE_FIXTURES: join(here, "../../internal/wire/testdata") };
  const r = spawnSync(process.execPath, ["--enable-source-maps", "--test", ...compiled], { stdio: "inherit", env });
  status = r.status ?? 1;
} finally {
  await rm(out, { recursive: true, force: true });
}
process.exit(status);
