// Makes KeyPackages with the web client's own code (createKeyPackage in
// src/e2ee/mls.ts), as a browser sends them in hello, and writes each as
// base64 to a file: the test vectors of the server's KeyPackage check
// (internal/e2ee/testdata/keypackages/). Both signing back ends are used
// (WebCrypto Ed25519 and @noble/curves), for a guest and for an account.
//
//   node web/test/tools/key-packages.mjs OUT_DIR
//
// Like test/run.mjs, it bundles the client's TypeScript with esbuild into
// node_modules/.cache (where node finds ts-mls) and runs it there.

import { build } from "esbuild";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const outDir = process.argv[2];
if (!outDir) {
  console.error("usage: key-packages.mjs OUT_DIR");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, "../..");
await mkdir(join(web, "node_modules/.cache"), { recursive: true });
const tmp = await mkdtemp(join(web, "node_modules/.cache/kaigi-key-packages-"));
try {
  await build({
    stdin: {
      contents: `export { createKeyPackage, readKeyPackage } from "./src/e2ee/mls.ts";
export { generateSigningIdentity } from "./src/e2ee/signing.ts";`,
      resolveDir: web,
      loader: "ts",
    },
    outfile: join(tmp, "mls.mjs"),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
  const mls = await import(pathToFileURL(join(tmp, "mls.mjs")).href);
  const vectors = [
    ["web-guest", { webCrypto: true }, ""],
    ["web-account", { webCrypto: true }, "k7q2m4x9ab3c5d7e"],
    ["noble-guest", { webCrypto: false }, ""],
    ["noble-account", { webCrypto: false }, "k7q2m4x9ab3c5d7e"],
  ];
  await mkdir(resolve(outDir), { recursive: true });
  for (const [name, opts, account] of vectors) {
    const device = await mls.generateSigningIdentity(opts);
    const kp = await mls.createKeyPackage(device, account);
    // The client's own check must accept what it made.
    const info = await mls.readKeyPackage(kp.bytes);
    if (info.account !== account) throw new Error(`${name}: account ${info.account}`);
    await writeFile(join(resolve(outDir), `${name}.b64`), `${Buffer.from(kp.bytes).toString("base64")}\n`);
    console.log(`${name}: ${kp.bytes.length} bytes`);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
