// The background blur pipeline in the browser (background-blur.ts has the
// rules): camera track → <video> → for every camera frame, a canvas draws
// the background blurred and the person sharp through the latest
// segmentation mask → canvas.captureStream() is the output track.
//
// Segmentation runs in a Worker (blur-worker.ts, dist/assets/blur-worker.js)
// with MediaPipe's selfie segmentation model, bundled and served by Kaigi
// from /assets/blur/ (nothing from another origin; the WebAssembly needs
// 'wasm-unsafe-eval' in the CSP's script-src, nothing more). It is loaded
// only when a pipeline starts. Each camera frame is drawn at once with the
// latest mask, and a small copy of a frame goes to the worker whenever it is
// free, so the output keeps the camera's frame rate even when the model is
// slower than the camera (the mask then lags a little). Until the first
// mask, the whole picture is blurred.
//
// Works where the browser has Worker, OffscreenCanvas (WebGL in a worker),
// createImageBitmap and HTMLCanvasElement.captureStream: Chromium, Firefox
// (no requestVideoFrameCallback in Firefox ESR: a timer at the camera's
// frame rate instead), Safari 16.4+.

import type { BlurEngine, BlurPipeline, PipelineEvents } from "./background-blur.js";

/** Messages to the worker. */
export type ToBlurWorker = { type: "init"; base: string } | { type: "frame"; frame: ImageBitmap };
/** Messages from the worker. */
export type FromBlurWorker = { type: "ready" } | { type: "mask"; mask: ImageBitmap | null } | { type: "error"; message: string };

export const BLUR_WORKER_URL = "/assets/blur-worker.js";
/** Where the worker finds MediaPipe's files. */
export const BLUR_ASSETS = "/assets/blur/";
/** Width of the picture the model gets (its input is 256×144; more is wasted). */
const SEGMENT_WIDTH = 256;
/** Width of the background's small copy: blurring it and scaling it up is the blur, cheap at any camera size. */
const BACKGROUND_WIDTH = 96;
/** The blur (in pixels of the small copy) on top of the scaling. */
const BACKGROUND_BLUR_PX = 2;
/** How long the model may take to load before blur gives up. */
const LOAD_TIMEOUT_MS = 30_000;
/** How often to look whether the camera track was stopped (a stopped track fires no event). */
const WATCH_MS = 500;

/** Whether this browser has what the pipeline needs. */
export function blurSupported(): boolean {
  return (
    typeof Worker === "function" &&
    typeof OffscreenCanvas === "function" &&
    typeof createImageBitmap === "function" &&
    typeof WebAssembly === "object" &&
    typeof HTMLCanvasElement === "function" &&
    typeof HTMLCanvasElement.prototype.captureStream === "function"
  );
}

/** The browser's engine, or null where blur cannot run (and the toggle is not shown). */
export function browserBlurEngine(): BlurEngine | null {
  if (!blurSupported()) return null;
  return (source, events) => new CanvasBlurPipeline(source, events);
}

/** Counters of a running pipeline, for the debug hook and measurements. */
export interface BlurStats {
  /** Frames drawn (= frames of the output track). */
  frames: number;
  /** Masks received from the model. */
  masks: number;
  /** Milliseconds from the start to the first mask (0 before it). */
  firstMaskMs: number;
  /** Milliseconds since the start. */
  runningMs: number;
}

let lastStats: (() => BlurStats) | null = null;
/** The counters of the latest pipeline (null if none ever ran). */
export function blurStats(): BlurStats | null {
  return lastStats ? lastStats() : null;
}

function canvas(w: number, h: number): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  const ctx = c.getContext("2d");
  if (!ctx) throw new Error("no 2D canvas");
  return [c, ctx];
}

class CanvasBlurPipeline implements BlurPipeline {
  readonly output: MediaStreamTrack;
  private source: MediaStreamTrack;
  private readonly video: HTMLVideoElement;
  private readonly out: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  /** The background: the frame scaled down, then blurred. */
  private readonly small: [HTMLCanvasElement, CanvasRenderingContext2D];
  private readonly blurred: [HTMLCanvasElement, CanvasRenderingContext2D];
  /** The model's input. */
  private readonly seg: [HTMLCanvasElement, CanvasRenderingContext2D];
  private worker: Worker | null;
  private ready = false;
  private inFlight = false;
  private mask: ImageBitmap | null = null;
  private stopped = false;
  private readonly watch: ReturnType<typeof setInterval>;
  private readonly loadTimer: ReturnType<typeof setTimeout>;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly started = performance.now();
  private frames = 0;
  private masks = 0;
  private firstMaskMs = 0;

  constructor(
    source: MediaStreamTrack,
    private readonly events: PipelineEvents,
  ) {
    this.source = source;
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    [this.out, this.ctx] = canvas(2, 2);
    this.small = canvas(2, 2);
    this.blurred = canvas(2, 2);
    this.seg = canvas(2, 2);
    this.output = this.out.captureStream().getVideoTracks()[0]!;
    this.setSource(source);
    lastStats = () => ({ frames: this.frames, masks: this.masks, firstMaskMs: this.firstMaskMs, runningMs: performance.now() - this.started });

    this.worker = new Worker(BLUR_WORKER_URL);
    this.worker.onmessage = (e: MessageEvent<FromBlurWorker>) => this.fromWorker(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.fail(e.message || "the model could not be loaded");
    };
    this.worker.postMessage({ type: "init", base: new URL(BLUR_ASSETS, location.href).href } satisfies ToBlurWorker);
    this.loadTimer = setTimeout(() => {
      if (!this.ready) this.fail("the model took too long to load");
    }, LOAD_TIMEOUT_MS);
    this.watch = setInterval(() => {
      if (this.source.readyState === "ended") {
        this.stop();
        this.events.ended();
      }
    }, WATCH_MS);
    this.schedule();
  }

  setSource(track: MediaStreamTrack): void {
    this.source = track;
    this.video.srcObject = new MediaStream([track]);
    this.video.play().catch(() => {});
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watch);
    clearTimeout(this.loadTimer);
    clearTimeout(this.timer);
    this.worker?.terminate();
    this.worker = null;
    this.mask?.close();
    this.mask = null;
    this.video.srcObject = null;
    this.output.stop();
    for (const c of [this.out, this.small[0], this.blurred[0], this.seg[0]]) c.width = c.height = 0;
  }

  private fail(reason: string): void {
    if (this.stopped) return;
    console.warn("kaigi: background blur failed:", reason);
    this.stop();
    this.events.failed(reason);
  }

  private fromWorker(m: FromBlurWorker): void {
    if (this.stopped) return;
    switch (m.type) {
      case "ready":
        this.ready = true;
        break;
      case "mask":
        this.inFlight = false;
        if (m.mask) {
          this.mask?.close();
          this.mask = m.mask;
          if (this.masks === 0) {
            this.firstMaskMs = performance.now() - this.started;
            console.info(`kaigi: background blur: first mask after ${Math.round(this.firstMaskMs)} ms`);
          }
          this.masks++;
        }
        break;
      case "error":
        this.fail(m.message);
        break;
    }
  }

  /** Draws on every camera frame: requestVideoFrameCallback where there is one, else a timer at the camera's rate. */
  private schedule(): void {
    if (this.stopped) return;
    const v = this.video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number };
    if (typeof v.requestVideoFrameCallback === "function") {
      v.requestVideoFrameCallback(() => this.frame());
    } else {
      const fps = this.source.getSettings().frameRate || 30;
      this.timer = setTimeout(() => this.frame(), 1000 / fps);
    }
  }

  private frame(): void {
    if (this.stopped) return;
    try {
      this.draw();
    } catch (e) {
      console.warn("kaigi: background blur frame:", e);
    }
    this.schedule();
  }

  private draw(): void {
    const v = this.video;
    const w = v.videoWidth;
    const h = v.videoHeight;
    if (w === 0 || h === 0 || v.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) return;
    if (this.out.width !== w || this.out.height !== h) this.resize(w, h);
    if (this.ready && !this.inFlight && this.worker) this.segment();

    // The background: scaled down (already a blur), then blurred a little
    // more where the canvas has filters; drawn once plain first so the
    // filter's faded edges are filled.
    const [small, sctx] = this.small;
    const [blurred, bctx] = this.blurred;
    sctx.drawImage(v, 0, 0, small.width, small.height);
    bctx.filter = "none";
    bctx.drawImage(small, 0, 0);
    bctx.filter = `blur(${BACKGROUND_BLUR_PX}px)`;
    bctx.drawImage(small, 0, 0);

    const ctx = this.ctx;
    ctx.imageSmoothingEnabled = true;
    if (this.mask) {
      // The person, sharp where the mask says so; the background behind.
      ctx.globalCompositeOperation = "copy";
      ctx.drawImage(this.mask, 0, 0, w, h);
      ctx.globalCompositeOperation = "source-in";
      ctx.drawImage(v, 0, 0, w, h);
      ctx.globalCompositeOperation = "destination-over";
      ctx.drawImage(blurred, 0, 0, w, h);
    } else {
      ctx.globalCompositeOperation = "copy";
      ctx.drawImage(blurred, 0, 0, w, h);
    }
    ctx.globalCompositeOperation = "source-over";
    this.frames++;
  }

  private resize(w: number, h: number): void {
    this.out.width = w;
    this.out.height = h;
    const sw = Math.min(w, BACKGROUND_WIDTH);
    this.small[0].width = this.blurred[0].width = sw;
    this.small[0].height = this.blurred[0].height = Math.max(1, Math.round((sw * h) / w));
    const gw = Math.min(w, SEGMENT_WIDTH);
    this.seg[0].width = gw;
    this.seg[0].height = Math.max(1, Math.round((gw * h) / w));
  }

  /** Sends a small copy of the current frame to the model. */
  private segment(): void {
    const [seg, sctx] = this.seg;
    sctx.drawImage(this.video, 0, 0, seg.width, seg.height);
    this.inFlight = true;
    createImageBitmap(seg).then(
      (frame) => {
        if (this.stopped || !this.worker) {
          frame.close();
          return;
        }
        this.worker.postMessage({ type: "frame", frame } satisfies ToBlurWorker, [frame]);
      },
      () => {
        this.inFlight = false;
      },
    );
  }
}
