// The media encryption transform: what happens to each encoded audio or
// video frame between the encoder and the packetizer (sending), and between
// the depacketizer and the decoder (receiving). Pure logic on byte arrays and
// web streams, so node tests it; worker.ts connects it to WebRTC's
// RTCRtpScriptTransform.
//
// ---- Which bytes of a media frame stay in clear, and why (for docs/security.md) ----
//
// Every encoded audio and video frame a Kaigi client sends leaves the
// browser, inside SRTP (which the SFU removes), as
//
//     [clear prefix][SFrame header][AES-128-GCM ciphertext of the rest][16-byte tag]
//
// The SFrame header (RFC 9605, 1 to 17 bytes) carries the KID — the sender's
// MLS leaf index and the low 4 bits of the MLS epoch — and CTR, the sender's
// frame counter. Header and clear prefix are authenticated: both are the
// AEAD's additional data (the prefix as SFrame "metadata"), so changing any
// bit of either makes the frame fail to decrypt, and receivers drop it.
//
// The clear prefix is:
// - VP8 key frame (bit 0 of the first byte, the inverted key frame flag P,
//   is 0): the first 10 bytes — the 3-byte frame tag (P, version, show_frame,
//   size of the first partition) and the key frame header (start code
//   9d 01 2a, then 14-bit width and height with 2-bit scaling each).
// - VP8 delta frame (P = 1): the 3-byte frame tag.
// - Opus: the first byte, the TOC (mode, audio bandwidth, frame duration,
//   mono/stereo, frames per packet).
// - Any other codec: nothing. (Kaigi's SFU offers VP8 and Opus only; codecs
//   whose RTP packetizer parses the frame, such as H.264 or AV1, would not
//   survive encryption at all.)
//
// Why: all a forwarding server needs is the P bit, to know which frames are
// key frames (where a new subscriber or a layer switch can start). The receiving
// browser's VP8 depacketizer runs before the decrypting transform and reads
// the same bytes: the P bit, and on key frames the width and height, which
// it requires (a key frame shorter than 10 bytes is rejected there). The Opus
// TOC describes the packet, not the sound; Kaigi's SFU does not read it
// today. So the server learns each frame's size and timing (which, for
// audio, also shows when someone speaks), key frame or not, the video
// resolution at each key frame, the Opus mode and frame duration, who sends
// (leaf index) and how many frames — and nothing of the picture or the
// sound.
//
// Receiving, a frame is passed on only if it decrypts and verifies under the
// key its KID names: never a frame without a valid SFrame layer (a server
// cannot inject media), never one under our own KID (a server cannot reflect
// our media back), never one from a non-member or an epoch we do not have,
// and never the same frame twice: each sender key accepts a CTR once, on
// whichever stream it comes, and not at all when it is far older than the
// newest CTR seen (sframe.ts ReplayWindow; a server replaying old frames,
// or copying one sender's frames onto a second stream, gets them dropped).
// Only an authentic frame moves that window, so forged frames cannot make
// real ones look old. Sending, nothing goes out before the first keys
// arrive.

import { NT, decodeHeader, decrypt } from "./sframe.js";
import type { KeyMiss, MediaKeyStore } from "./media-keys.js";

export type Codec = "vp8" | "opus" | "other";
export type Side = "send" | "receive";
export type MediaKind = "audio" | "video";

/** The codec of a frame, from its RTP mime type ("video/VP8") or a bare name ("vp8"). */
export function codecOf(mimeTypeOrName: string | undefined, kind: MediaKind): Codec {
  const name = (mimeTypeOrName ?? "").toLowerCase().replace(/^(audio|video)\//, "");
  if (name === "vp8" || name === "opus") return name;
  if (name === "") return kind === "video" ? "vp8" : "opus";
  return "other";
}

/**
 * How many leading bytes of `frame` stay in clear (see the top of this file),
 * or null when the frame is too short to be a valid frame of its codec. The
 * receiver computes the same from the same clear bytes.
 */
export function clearPrefixLength(codec: Codec, frame: Uint8Array): number | null {
  switch (codec) {
    case "vp8": {
      if (frame.length === 0) return null;
      const n = (frame[0]! & 0x01) === 0 ? 10 : 3;
      return frame.length >= n ? n : null;
    }
    case "opus":
      return frame.length >= 1 ? 1 : null;
    case "other":
      return 0;
  }
}

/**
 * Why the sender did not send a frame, or the receiver did not pass one on.
 * "empty": a zero-length frame, which carries nothing (Chrome was seen to
 * deliver one at the start of an audio stream that no sender transform made).
 * "replay": its CTR was accepted before under the same key, or is too far
 * behind the newest (sframe.ts REPLAY_WINDOW).
 */
export type SendDrop = "no-key" | "empty" | "malformed";
export type ReceiveDrop = KeyMiss | "empty" | "malformed" | "unauthentic" | "replay";
/** "error": something unexpected failed; the frame is dropped, not passed on as it was. */
export type DropReason = SendDrop | ReceiveDrop | "error";

/** Encrypts one encoded frame: [clear prefix][SFrame header][ciphertext + tag]. */
export async function encryptFrame(keys: MediaKeyStore, codec: Codec, frame: Uint8Array): Promise<Uint8Array<ArrayBuffer> | SendDrop> {
  if (frame.length === 0) return "empty";
  const prefixLength = clearPrefixLength(codec, frame);
  if (prefixLength === null) return "malformed";
  const sender = keys.sender();
  if (sender === null) return "no-key";
  const prefix = frame.subarray(0, prefixLength);
  const sealed = await (await sender).encrypt(frame.subarray(prefixLength), prefix);
  const out = new Uint8Array(prefixLength + sealed.length);
  out.set(prefix);
  out.set(sealed, prefixLength);
  return out;
}

export interface DecryptedFrame {
  data: Uint8Array<ArrayBuffer>;
  /** The MLS leaf index of the sender, as authenticated by the key. */
  leafIndex: number;
  epoch: bigint;
}

/** Decrypts one received frame, or says why it must be dropped. */
export async function decryptFrame(keys: MediaKeyStore, codec: Codec, frame: Uint8Array): Promise<DecryptedFrame | ReceiveDrop> {
  if (frame.length === 0) return "empty";
  const prefixLength = clearPrefixLength(codec, frame);
  if (prefixLength === null) return "malformed";
  const header = decodeHeader(frame, prefixLength);
  if (header === null || frame.length < prefixLength + header.length + NT) return "malformed";
  const found = await keys.receiverKey(header.kid);
  if (typeof found === "string") return found;
  // Seen or too old: no need to decrypt. Only after it authenticated does
  // the frame count as seen (accept, checking again: the same frame may
  // have been decrypting concurrently on another stream).
  if (!found.window.check(header.ctr)) return "replay";
  const prefix = frame.subarray(0, prefixLength);
  const plain = await decrypt(found.key, frame.subarray(prefixLength), prefix);
  if (plain === null) return "unauthentic";
  if (!found.window.accept(header.ctr)) return "replay";
  const data = new Uint8Array(prefixLength + plain.length);
  data.set(prefix);
  data.set(plain, prefixLength);
  return { data, leafIndex: found.leafIndex, epoch: found.epoch };
}

// ---- one stream --------------------------------------------------------------------------

/** The part of RTCEncodedVideoFrame / RTCEncodedAudioFrame the transform uses. */
export interface EncodedFrame {
  data: ArrayBuffer;
  getMetadata(): { mimeType?: string };
}

/** How the main thread describes a transform (the RTCRtpScriptTransform options). */
export interface TransformOptions {
  /** Names the stream in statistics. */
  id: string;
  side: Side;
  kind: MediaKind;
  /** Mime type or codec name, used when frames do not say (older browsers). */
  codec?: string;
}

export interface StreamStats {
  id: string;
  side: Side;
  kind: MediaKind;
  /** Frames passed on (sent encrypted, or received and decrypted). */
  frames: number;
  /** Frames dropped, by reason. */
  dropped: Partial<Record<DropReason, number>>;
  /** Receiving: the leaf index of the last sender whose frame decrypted. */
  senderLeafIndex: number | null;
}

export interface FrameTransformHooks {
  /** Receiving: frames decrypt again after some were dropped (a video decoder then needs a key frame). */
  recovered?(): void;
  /** Receiving: the authenticated sender of the stream changed (or was first seen). */
  senderChanged?(leafIndex: number): void;
}

/** The per-stream transform: encrypts or decrypts each frame in order, dropping what it must. */
export class FrameTransform {
  readonly stats: StreamStats;
  private dropping = false;

  constructor(
    private readonly keys: MediaKeyStore,
    readonly options: TransformOptions,
    private readonly hooks: FrameTransformHooks = {},
  ) {
    this.stats = { id: options.id, side: options.side, kind: options.kind, frames: 0, dropped: {}, senderLeafIndex: null };
  }

  /** Transforms `frame` in place; false when it must be dropped. */
  async process(frame: EncodedFrame): Promise<boolean> {
    const codec = codecOf(frame.getMetadata().mimeType ?? this.options.codec, this.options.kind);
    const data = new Uint8Array(frame.data);
    if (this.options.side === "send") {
      const out = await encryptFrame(this.keys, codec, data);
      if (typeof out === "string") return this.drop(out);
      frame.data = out.buffer;
      this.stats.frames++;
      return true;
    }
    const r = await decryptFrame(this.keys, codec, data);
    if (typeof r === "string") return this.drop(r);
    frame.data = r.data.buffer;
    this.stats.frames++;
    if (this.dropping) {
      this.dropping = false;
      this.hooks.recovered?.();
    }
    if (this.stats.senderLeafIndex !== r.leafIndex) {
      this.stats.senderLeafIndex = r.leafIndex;
      this.hooks.senderChanged?.(r.leafIndex);
    }
    return true;
  }

  private drop(reason: DropReason): false {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    // A replayed frame's original was passed on, so the decoder misses
    // nothing and needs no key frame for it (and a frame older than the
    // window is seconds too late to matter to the decoder).
    if (reason !== "replay") this.dropping = true;
    return false;
  }

  /** A TransformStream for the transformer's readable → writable pipe. Frames keep their order. */
  stream<F extends EncodedFrame>(): TransformStream<F, F> {
    return new TransformStream<F, F>({
      transform: async (frame, controller) => {
        let pass = false;
        try {
          pass = await this.process(frame);
        } catch {
          // Anything unexpected drops the frame rather than passing it on as it was.
          this.drop("error");
        }
        if (pass) controller.enqueue(frame);
      },
    });
  }
}
