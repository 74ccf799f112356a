// The messages between the page (media-encryption.ts) and the media
// encryption Worker (worker.ts). Structured clone carries bigint and
// Uint8Array as they are.

import type { EpochKeys } from "./media-keys.js";
import type { StreamStats } from "./transform.js";

export type ToWorker =
  /**
   * A new MLS epoch: encrypt with it from now on, decrypt with it and the few
   * before it. Keys of another group (EpochKeys.groupInstance) replace all.
   */
  | { type: "setKeys"; keys: EpochKeys }
  /** Forget every key (leaving, or moving to another group); nothing is sent until new keys come. */
  | { type: "clearKeys" }
  /** Ask for every stream's counters; answered by "stats" with the same id. */
  | { type: "stats"; id: number };

export type FromWorker =
  | { type: "stats"; id: number; streams: StreamStats[] }
  /** A receiving stream's authenticated sender (MLS leaf index) is now `leafIndex`. */
  | { type: "sender"; stream: string; leafIndex: number }
  /** Something went wrong in the worker (never with key material in it). */
  | { type: "error"; message: string };
