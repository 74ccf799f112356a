// The media encryption Worker, bundled on its own as
// dist/assets/e2ee-worker.js: a same-origin file, as the CSP's
// `worker-src 'self'` requires (no blob: workers).
//
// WebRTC hands it each protected sender's and receiver's encoded frames
// through RTCRtpScriptTransform (an `rtctransform` event per stream); the
// page sends it the keys of each MLS epoch (worker-messages.ts). One worker
// serves every stream of the page: all sending streams then share the one
// SFrame counter of this member's KID, so no (KID, CTR) repeats. Keys never
// leave the worker again, and nothing here logs.

import { MediaKeyStore } from "./media-keys.js";
import { FrameTransform, type EncodedFrame, type TransformOptions } from "./transform.js";
import type { FromWorker, ToWorker } from "./worker-messages.js";

/** The part of RTCRtpScriptTransformer used here (the page's DOM typings lack the worker side). */
export interface ScriptTransformer {
  readonly readable: ReadableStream<EncodedFrame>;
  readonly writable: WritableStream<EncodedFrame>;
  readonly options: unknown;
  generateKeyFrame?(): Promise<void>;
  sendKeyFrameRequest?(): Promise<void>;
}

interface Stream {
  transform: FrameTransform;
  transformer: ScriptTransformer;
}

/** Reads the options the page gave `new RTCRtpScriptTransform(worker, options)`. */
export function transformOptions(v: unknown): TransformOptions | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== "string" || (o.side !== "send" && o.side !== "receive") || (o.kind !== "audio" && o.kind !== "video")) return null;
  const options: TransformOptions = { id: o.id, side: o.side, kind: o.kind };
  if (typeof o.codec === "string") options.codec = o.codec;
  return options;
}

/** Calls an optional browser feature, ignoring its absence and its failure. */
function attempt(f: () => Promise<void> | undefined): void {
  try {
    Promise.resolve(f()).catch(() => undefined);
  } catch {
    // not available in this browser
  }
}

export class MediaWorker {
  private readonly streams = new Set<Stream>();

  constructor(
    private readonly post: (m: FromWorker) => void,
    private readonly keys = new MediaKeyStore(),
  ) {}

  handle(msg: ToWorker): void {
    switch (msg.type) {
      case "setKeys": {
        let fresh: boolean;
        try {
          fresh = this.keys.setKeys(msg.keys);
        } catch (e) {
          this.post({ type: "error", message: e instanceof Error ? e.message : "setKeys failed" });
          return;
        }
        // RFC 9605 §6.2: a key frame under the new key lets members who just
        // joined see video at once. (A new group may start at the epoch
        // number the old one had: what counts is that the keys are new.)
        if (fresh) {
          for (const s of this.streams) {
            if (s.transform.options.side === "send" && s.transform.options.kind === "video") attempt(() => s.transformer.generateKeyFrame?.());
          }
        }
        return;
      }
      case "clearKeys":
        this.keys.clear();
        return;
      case "stats":
        this.post({ type: "stats", id: msg.id, streams: [...this.streams].map((s) => structuredStats(s.transform)) });
        return;
    }
  }

  /**
   * Runs one stream until it ends. With options it cannot read, the stream
   * is cancelled: its frames go nowhere rather than out unprotected.
   */
  async attach(transformer: ScriptTransformer): Promise<void> {
    const options = transformOptions(transformer.options);
    if (options === null) {
      this.post({ type: "error", message: "RTCRtpScriptTransform without valid options; stream stopped" });
      await transformer.readable.cancel().catch(() => undefined);
      return;
    }
    const transform = new FrameTransform(this.keys, options, {
      recovered: () => {
        if (options.kind === "video") attempt(() => transformer.sendKeyFrameRequest?.());
      },
      senderChanged: (leafIndex) => this.post({ type: "sender", stream: options.id, leafIndex }),
    });
    const stream: Stream = { transform, transformer };
    this.streams.add(stream);
    try {
      await transformer.readable.pipeThrough(transform.stream()).pipeTo(transformer.writable);
    } catch {
      // The sender or receiver went away.
    } finally {
      this.streams.delete(stream);
    }
  }
}

function structuredStats(t: FrameTransform) {
  return { ...t.stats, dropped: { ...t.stats.dropped } };
}

// ---- wiring, when running as a Worker ------------------------------------------------------

interface WorkerScope {
  postMessage(m: FromWorker): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
  onrtctransform: ((ev: Event & { transformer: ScriptTransformer }) => void) | null;
}

const scope = globalThis as unknown as Partial<WorkerScope> & { WorkerGlobalScope?: unknown };
if (scope.WorkerGlobalScope !== undefined && typeof scope.postMessage === "function") {
  const post = scope.postMessage.bind(scope);
  const worker = new MediaWorker(post);
  scope.onmessage = (ev) => worker.handle(ev.data);
  scope.onrtctransform = (ev) => void worker.attach(ev.transformer);
}
