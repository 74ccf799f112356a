// Builds the browser client into dist/, which the Go server embeds:
//   dist/index.html, dist/assets/app.js (+ .map), dist/assets/app.css, dist/assets/icon.svg
//   dist/assets/e2ee-worker.js (+ .map): the media encryption Worker
//     (src/e2ee/worker.ts), a file of its own because the CSP allows
//     workers only from 'self'; a classic script, so any browser with
//     RTCRtpScriptTransform can start it.
//   dist/assets/blur-worker.js (+ .map): background blur's segmentation
//     Worker (src/meeting/blur-worker.ts), classic for the same reasons, and
//   dist/assets/blur/: MediaPipe's selfie segmentation (loader, WebAssembly
//     with and without SIMD, model, graph) copied unchanged from the pinned
//     npm package, so nothing is fetched from another origin. The browser
//     loads them only when blur is turned on.
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

const common = {
  bundle: true,
  platform: "browser",
  target: ["es2022", "chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
};

await build({ ...common, entryPoints: [join(root, "src/main.ts")], outfile: join(assets, "app.js"), format: "esm" });
await build({ ...common, entryPoints: [join(root, "src/e2ee/worker.ts")], outfile: join(assets, "e2ee-worker.js"), format: "iife" });
await build({ ...common, entryPoints: [join(root, "src/meeting/blur-worker.ts")], outfile: join(assets, "blur-worker.js"), format: "iife" });

const mediapipe = join(root, "node_modules/@mediapipe/selfie_segmentation");
await mkdir(join(assets, "blur"));
for (const f of [
  "selfie_segmentation.js",
  "selfie_segmentation.binarypb",
  "selfie_segmentation_landscape.tflite",
  "selfie_segmentation_solution_simd_wasm_bin.js",
  "selfie_segmentation_solution_simd_wasm_bin.wasm",
  "selfie_segmentation_solution_wasm_bin.js",
  "selfie_segmentation_solution_wasm_bin.wasm",
]) {
  await copyFile(join(mediapipe, f), join(assets, "blur", f));
}

await copyFile(join(root, "static/index.html"), join(dist, "index.html"));
await copyFile(join(root, "static/style.css"), join(assets, "app.css"));
await copyFile(join(root, "static/icon.svg"), join(assets, "icon.svg"));
console.log("built web/dist");
