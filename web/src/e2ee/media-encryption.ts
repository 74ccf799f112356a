// The page's side of media encryption: starts the Worker (worker.ts),
// attaches it to each RTCRtpSender and RTCRtpReceiver, and passes it every
// MLS epoch's keys. Use one MediaEncryption per page: one worker for all
// streams keeps the sending counter shared (worker.ts).
//
//   const media = MediaEncryption.start();
//   media.setKeys(await group.mediaKeys());          // after join, after every commit
//   media.protectSender(transceiver.sender, { id: "camera", kind: "video" });
//   media.protectReceiver(transceiver.receiver, { id: mid, kind: "video" });
//
// Protect a sender before it has a track (right after addTransceiver), so
// no frame ever leaves unprotected; until the first setKeys, protected
// senders send nothing and protected receivers pass nothing on.

import type { EpochKeys } from "./media-keys.js";
import type { MediaKind, StreamStats, TransformOptions } from "./transform.js";
import type { FromWorker, ToWorker } from "./worker-messages.js";

/** Where build.mjs puts the worker bundle. */
export const WORKER_URL = "/assets/e2ee-worker.js";

/** The part of Worker used here. */
export interface WorkerLike {
  postMessage(m: ToWorker): void;
  terminate(): void;
  onmessage: ((ev: MessageEvent<FromWorker>) => void) | null;
}

/** What a sender or receiver looks like to us: something with a `transform` slot. */
export interface Transformable {
  transform: RTCRtpScriptTransform | null;
}

export interface StreamOptions {
  /** Names the stream in statistics and "sender" events (e.g. the mid, or "camera"). */
  id: string;
  kind: MediaKind;
  /** The codec's mime type, for browsers whose frames do not carry it ("video/VP8"). */
  codec?: string;
}

export class MediaEncryption {
  /** A receiving stream's authenticated sender changed: stream id and MLS leaf index. */
  onSender: ((stream: string, leafIndex: number) => void) | null = null;
  /** The worker reported a problem (no key material in it). */
  onError: ((message: string) => void) | null = null;

  private nextRequest = 1;
  private readonly pendingStats = new Map<number, (streams: StreamStats[]) => void>();

  constructor(
    private readonly worker: WorkerLike,
    private readonly makeTransform: (worker: WorkerLike, options: TransformOptions) => RTCRtpScriptTransform = (w, o) =>
      new RTCRtpScriptTransform(w as unknown as Worker, o),
  ) {
    worker.onmessage = (ev) => this.received(ev.data);
  }

  /** Whether this browser has WebRTC Encoded Transform in a worker (RTCRtpScriptTransform). */
  static supported(): boolean {
    return typeof RTCRtpScriptTransform === "function";
  }

  /** Starts the worker from its same-origin URL. */
  static start(url: string = WORKER_URL): MediaEncryption {
    return new MediaEncryption(new Worker(url, { name: "kaigi-e2ee" }) as unknown as WorkerLike);
  }

  /**
   * Hands the worker a new epoch's keys (Group.mediaKeys()). Within one
   * group epochs must go forward (the worker reports an error otherwise);
   * keys with another `groupInstance` are a new group and replace all keys.
   */
  setKeys(keys: EpochKeys): void {
    this.worker.postMessage({ type: "setKeys", keys });
  }

  /** Makes the worker forget all keys; protected streams go quiet until the next setKeys. */
  clearKeys(): void {
    this.worker.postMessage({ type: "clearKeys" });
  }

  protectSender(sender: Transformable, options: StreamOptions): void {
    sender.transform = this.makeTransform(this.worker, { ...options, side: "send" });
  }

  protectReceiver(receiver: Transformable, options: StreamOptions): void {
    receiver.transform = this.makeTransform(this.worker, { ...options, side: "receive" });
  }

  /** Every stream's counters: frames passed on, frames dropped by reason, last sender. */
  stats(): Promise<StreamStats[]> {
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      this.pendingStats.set(id, resolve);
      this.worker.postMessage({ type: "stats", id });
    });
  }

  close(): void {
    this.worker.onmessage = null;
    this.worker.terminate();
    for (const resolve of this.pendingStats.values()) resolve([]);
    this.pendingStats.clear();
  }

  private received(m: FromWorker): void {
    switch (m.type) {
      case "stats": {
        const resolve = this.pendingStats.get(m.id);
        this.pendingStats.delete(m.id);
        resolve?.(m.streams);
        return;
      }
      case "sender":
        this.onSender?.(m.stream, m.leafIndex);
        return;
      case "error":
        this.onError?.(m.message);
        return;
    }
  }
}
