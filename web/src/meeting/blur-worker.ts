// The background blur's segmentation Worker, built as dist/assets/blur-worker.js
// (a classic script: MediaPipe's loader uses importScripts). It loads
// MediaPipe's selfie segmentation (@mediapipe/selfie_segmentation, pinned
// in package.json, copied to dist/assets/blur/ by build.mjs) from Kaigi's
// own origin and answers each frame with a mask (alpha: how sure the model
// is that a pixel is the person). Inference runs on the CPU (XNNPACK, the
// SIMD build where the browser has it): a machine without a GPU gets a
// usable rate, and the GPU path of this version is no faster for a 256×144
// model once its shaders compile. blur-pipeline.ts starts it.
//
// This loader version was written for pages; in a worker it needs three
// things from us, each checked: a global `Module` naming where its files
// are; importScripts given only its scripts (it also passes the model
// file, which it then fetches itself); and the WebGL context of its
// OffscreenCanvas, which only its page path records.

import type { FromBlurWorker, ToBlurWorker } from "./blur-pipeline.js";

interface Results {
  segmentationMask?: ImageBitmap | HTMLCanvasElement;
}
interface Segmentation {
  setOptions(o: Record<string, unknown>): void;
  onResults(cb: (r: Results) => void): void;
  initialize(): Promise<void>;
  send(input: { image: ImageBitmap }): Promise<void>;
  close(): Promise<void>;
  /** Internals of this exact version (0.1.1675465747): the solution, its canvas and its GL context. */
  h?: { m?: OffscreenCanvas; K?: unknown };
}

interface Scope {
  importScripts(...urls: string[]): void;
  postMessage(m: FromBlurWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToBlurWorker>) => void) | null;
  Module?: { locateFile(f: string): string };
  SelfieSegmentation?: new (o: { locateFile(f: string): string }) => Segmentation;
}

const scope = globalThis as unknown as Scope;
let seg: Segmentation | null = null;
let latest: ImageBitmap | null = null;

function reply(m: FromBlurWorker, transfer: Transferable[] = []): void {
  scope.postMessage(m, transfer);
}

async function init(base: string): Promise<void> {
  const locateFile = (f: string): string => new URL(f, base).href;
  const realImport = scope.importScripts.bind(scope);
  scope.importScripts = (...urls: string[]) => realImport(...urls.filter((u) => u.endsWith(".js")));
  scope.Module = { locateFile };
  realImport(locateFile("selfie_segmentation.js"));
  const Ctor = scope.SelfieSegmentation;
  if (!Ctor) throw new Error("the segmentation script did not load");
  const s = new Ctor({ locateFile });
  s.setOptions({ modelSelection: 1, selfieMode: false, useCpuInference: true });
  s.onResults((r) => {
    const m = r.segmentationMask;
    latest = typeof ImageBitmap !== "undefined" && m instanceof ImageBitmap ? m : null;
  });
  await s.initialize();
  const inner = s.h;
  if (!inner || !(inner.m instanceof OffscreenCanvas)) throw new Error("unexpected segmentation library version");
  inner.K ??= inner.m.getContext("webgl2") ?? inner.m.getContext("webgl");
  if (!inner.K) throw new Error("no WebGL in a worker");
  seg = s;
}

let maskCanvas: OffscreenCanvas | null = null;

/**
 * The mask with the person's confidence in its alpha channel, which the
 * page composites with. In a worker this version draws the mask on an
 * opaque canvas (alpha 1 everywhere, the confidence in the colour), so it
 * is moved over: alpha = max(r, g, b) × a. Cheap at the model's 256 px.
 */
function alphaMask(mask: ImageBitmap): ImageBitmap {
  const w = mask.width;
  const h = mask.height;
  if (!maskCanvas || maskCanvas.width !== w || maskCanvas.height !== h) maskCanvas = new OffscreenCanvas(w, h);
  const ctx = maskCanvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new Error("no 2D canvas in a worker");
  ctx.globalCompositeOperation = "copy";
  ctx.drawImage(mask, 0, 0);
  mask.close();
  const img = ctx.getImageData(0, 0, w, h);
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    d[i + 3] = (Math.max(d[i]!, d[i + 1]!, d[i + 2]!) * d[i + 3]!) / 255;
    d[i] = d[i + 1] = d[i + 2] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return maskCanvas.transferToImageBitmap();
}

async function segment(frame: ImageBitmap): Promise<void> {
  latest = null;
  try {
    await seg?.send({ image: frame });
  } finally {
    frame.close();
  }
  const mask = latest ? alphaMask(latest) : null;
  latest = null;
  reply({ type: "mask", mask }, mask ? [mask] : []);
}

scope.onmessage = (e) => {
  const m = e.data;
  const work = m.type === "init" ? init(m.base).then(() => reply({ type: "ready" })) : segment(m.frame);
  work.catch((err: unknown) => reply({ type: "error", message: err instanceof Error ? err.message : String(err) }));
};
