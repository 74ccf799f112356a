// Builds the browser client into dist/, which the Go server embeds:
//   dist/index.html, dist/assets/app.js (+ .map), dist/assets/app.css, dist/assets/icon.svg
// dist/.gitkeep stays: the embed needs the folder even before a build.

import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const assets = join(dist, "assets");

await rm(assets, { recursive: true, force: true });
await rm(join(dist, "index.html"), { force: true });
await mkdir(assets, { recursive: true });

await build({
  entryPoints: [join(root, "src/main.ts")],
  outfile: join(assets, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});

await copyFile(join(root, "static/index.html"), join(dist, "index.html"));
await copyFile(join(root, "static/style.css"), join(assets, "app.css"));
await copyFile(join(root, "static/icon.svg"), join(assets, "icon.svg"));
console.log("built web/dist");
