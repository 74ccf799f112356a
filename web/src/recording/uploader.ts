// Uploads a recording's encrypted chunks in order, one at a time, and
// survives a dropped connection: a chunk that fails for a reason that can
// pass (no connection, the server busy or failing) is kept and sent again
// after a growing pause (1 s, 2 s, 4 s … at most 10 s), and the queue goes
// on from there; the server takes a chunk sent twice as one. Only a
// refusal that will not pass (the recording finished, too large, not
// ours) stops it, and says so. It keeps at most maxQueued chunks waiting
// (a long outage), then reports itself full so the recorder can stop.

import { ApiError } from "../api/http.js";
import { Backoff } from "../lib/backoff.js";

export interface UploaderOptions {
  put(n: number, data: Uint8Array): Promise<void>;
  /** Waits; tests pass one that does not. */
  sleep?(ms: number): Promise<void>;
  /** The clock for the backoff (ms). */
  now?(): number;
  /** A try failed and will be repeated (for the screen: "Upload paused, retrying…"). */
  retrying?(e: unknown): void;
  /** The queue is moving again after a failure. */
  resumed?(): void;
  /** Chunks held at most while the server cannot be reached. */
  maxQueued?: number;
}

/** Whether a failed upload can pass if tried again. */
export function retryable(e: unknown): boolean {
  if (!(e instanceof ApiError)) return true;
  return e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500;
}

/** Retry forever (a recording outlives a two-minute outage): never give up by time, at most 10 s between tries. */
const UPLOAD_BACKOFF = { firstMs: 1000, maxMs: 10_000, giveUpAfterMs: Number.POSITIVE_INFINITY };

export class ChunkUploader {
  private readonly queue: { n: number; data: Uint8Array }[] = [];
  private running: Promise<void> | null = null;
  private fatal: unknown = null;
  private readonly backoff = new Backoff(UPLOAD_BACKOFF);
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  /** Chunks the server has taken. */
  uploaded = 0;

  constructor(private readonly o: UploaderOptions) {
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = o.now ?? (() => Date.now());
  }

  /** The refusal that stopped the uploads, or null. */
  get failure(): unknown {
    return this.fatal;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Whether the queue holds as many chunks as it may. */
  get full(): boolean {
    return this.queue.length >= (this.o.maxQueued ?? 600);
  }

  /** Queues chunk n for upload. */
  add(n: number, data: Uint8Array): void {
    if (this.fatal !== null) return;
    this.queue.push({ n, data });
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
  }

  /** Resolves once every queued chunk is uploaded; rejects with the refusal that stopped them. */
  async drained(): Promise<void> {
    while (this.running !== null) await this.running;
    if (this.fatal !== null) throw this.fatal;
  }

  private async run(): Promise<void> {
    let failing = false;
    while (this.queue.length > 0) {
      const c = this.queue[0]!;
      try {
        await this.o.put(c.n, c.data);
      } catch (e) {
        if (!retryable(e)) {
          this.fatal = e;
          this.queue.length = 0;
          return;
        }
        failing = true;
        this.o.retrying?.(e);
        await this.sleep(this.backoff.next(this.now()) ?? 10_000);
        continue;
      }
      this.queue.shift();
      this.uploaded++;
      if (failing) {
        failing = false;
        this.backoff.reset();
        this.o.resumed?.();
      }
    }
  }
}
