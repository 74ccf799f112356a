// SFrame (RFC 9605) with the one cipher suite Kaigi uses,
// AES_128_GCM_SHA256_128 (0x0004): the header codec (§4.3), the key and salt
// derivation from a base key (§4.4.2), and AEAD encryption with the header
// (plus optional metadata) as additional authenticated data (§4.4.3, §4.4.4),
// and the receiver's anti-replay window on CTRs (§9.3).
//
// Everything runs on WebCrypto, so it works the same in a page, a Worker and
// node (tests). Derived AES keys are non-extractable CryptoKeys usable for
// either encryption or decryption, never both (§4.4.1). Decryption of
// untrusted bytes never throws: it returns null.

import { bufferSource, concatBytes } from "./bytes.js";

/** AES_128_GCM_SHA256_128 in the IANA "SFrame Cipher Suites" registry. */
export const CIPHER_SUITE = 0x0004;
/** AEAD.Nk: key size in bytes. */
export const NK = 16;
/** AEAD.Nn: nonce size in bytes. */
export const NN = 12;
/** AEAD.Nt: authentication tag size in bytes. */
export const NT = 16;
/** The longest header: a config byte, an 8-byte KID and an 8-byte CTR. */
export const MAX_HEADER_LENGTH = 17;

const MAX_U64 = (1n << 64n) - 1n;
const EMPTY = new Uint8Array(0);

// ---- header (§4.3) -------------------------------------------------------------

/** A decoded SFrame header; `length` is how many bytes it took. */
export interface Header {
  kid: bigint;
  ctr: bigint;
  length: number;
}

function checkU64(name: string, v: bigint): void {
  if (v < 0n || v > MAX_U64) throw new RangeError(`${name} must fit in 64 bits`);
}

/** Bytes needed to write v (≥ 8) big-endian without leading zeros. */
function minimalLength(v: bigint): number {
  let n = 1;
  for (let x = v >> 8n; x > 0n; x >>= 8n) n++;
  return n;
}

function writeBigEndian(out: Uint8Array, offset: number, length: number, v: bigint): void {
  for (let i = offset + length - 1; i >= offset; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/**
 * Encodes a header: config byte |X|K K K|Y|C C C|, then the KID, then the
 * CTR. A value below 8 sits in its 3 bits of the config byte; a larger one
 * follows in the fewest big-endian bytes, its length minus one in those bits
 * and its flag (X or Y) set.
 */
export function encodeHeader(kid: bigint, ctr: bigint): Uint8Array<ArrayBuffer> {
  checkU64("KID", kid);
  checkU64("CTR", ctr);
  const kidLength = kid < 8n ? 0 : minimalLength(kid);
  const ctrLength = ctr < 8n ? 0 : minimalLength(ctr);
  const out = new Uint8Array(1 + kidLength + ctrLength);
  const k = kidLength === 0 ? Number(kid) << 4 : 0x80 | ((kidLength - 1) << 4);
  const c = ctrLength === 0 ? Number(ctr) : 0x08 | (ctrLength - 1);
  out[0] = k | c;
  writeBigEndian(out, 1, kidLength, kid);
  writeBigEndian(out, 1 + kidLength, ctrLength, ctr);
  return out;
}

/**
 * Reads one field that follows the config byte. Values must be encoded
 * minimally (the RFC's MUST): an extended value below 8, or one with a
 * leading zero byte, is rejected, so every (KID, CTR) has exactly one
 * encoding.
 */
function readField(data: Uint8Array, pos: number, length: number): bigint | null {
  if (pos + length > data.length) return null;
  if (length > 1 && data[pos] === 0) return null;
  let v = 0n;
  for (let i = pos; i < pos + length; i++) v = (v << 8n) | BigInt(data[i]!);
  return v < 8n ? null : v;
}

/** Decodes the header at `offset`, or null when the bytes are not a valid header. */
export function decodeHeader(data: Uint8Array, offset = 0): Header | null {
  if (offset >= data.length) return null;
  const config = data[offset]!;
  let pos = offset + 1;
  let kid = BigInt((config >> 4) & 0x07);
  if (config & 0x80) {
    const length = ((config >> 4) & 0x07) + 1;
    const v = readField(data, pos, length);
    if (v === null) return null;
    kid = v;
    pos += length;
  }
  let ctr = BigInt(config & 0x07);
  if (config & 0x08) {
    const length = (config & 0x07) + 1;
    const v = readField(data, pos, length);
    if (v === null) return null;
    ctr = v;
    pos += length;
  }
  return { kid, ctr, length: pos - offset };
}

// ---- keys (§4.4.2) -----------------------------------------------------------------

/** An SFrame key for one KID: the AES-GCM key and the nonce salt. */
export interface SFrameKey {
  readonly kid: bigint;
  /** Non-extractable; "encrypt" or "decrypt" only. */
  readonly key: CryptoKey;
  readonly salt: Uint8Array;
}

export type KeyUsage = "encrypt" | "decrypt";

const encoder = new TextEncoder();

function label(prefix: string, kid: bigint): Uint8Array<ArrayBuffer> {
  checkU64("KID", kid);
  const p = encoder.encode(prefix);
  const out = new Uint8Array(p.length + 10);
  out.set(p);
  const view = new DataView(out.buffer);
  view.setBigUint64(p.length, kid);
  view.setUint16(p.length + 8, CIPHER_SUITE);
  return out;
}

/** "SFrame 1.0 Secret key " + KID (8 bytes, big-endian) + cipher suite (2 bytes). */
export function keyLabel(kid: bigint): Uint8Array<ArrayBuffer> {
  return label("SFrame 1.0 Secret key ", kid);
}

/** "SFrame 1.0 Secret salt " + KID (8 bytes, big-endian) + cipher suite (2 bytes). */
export function saltLabel(kid: bigint): Uint8Array<ArrayBuffer> {
  return label("SFrame 1.0 Secret salt ", kid);
}

/**
 * derive_key_salt(KID, base_key): sframe_secret = HKDF-Extract("", base_key),
 * then sframe_key and sframe_salt by HKDF-Expand with the labels above.
 * WebCrypto's HKDF does both steps; an empty salt is, as HMAC keys go, the
 * same as RFC 5869's default of HashLen zero bytes.
 */
export async function deriveKey(baseKey: Uint8Array, kid: bigint, usage: KeyUsage): Promise<SFrameKey> {
  const subtle = globalThis.crypto.subtle;
  const ikm = await subtle.importKey("raw", bufferSource(baseKey), "HKDF", false, ["deriveKey", "deriveBits"]);
  const hkdf = (info: Uint8Array<ArrayBuffer>): HkdfParams => ({ name: "HKDF", hash: "SHA-256", salt: EMPTY, info });
  const key = await subtle.deriveKey(hkdf(keyLabel(kid)), ikm, { name: "AES-GCM", length: NK * 8 }, false, [usage]);
  const salt = new Uint8Array(await subtle.deriveBits(hkdf(saltLabel(kid)), ikm, NN * 8));
  return { kid, key, salt };
}

/** The AEAD nonce: the salt XOR the CTR written big-endian in AEAD.Nn bytes. */
export function makeNonce(salt: Uint8Array, ctr: bigint): Uint8Array<ArrayBuffer> {
  checkU64("CTR", ctr);
  const nonce = new Uint8Array(NN);
  nonce.set(salt.subarray(0, NN));
  let c = ctr;
  for (let i = NN - 1; i >= NN - 8; i--) {
    nonce[i]! ^= Number(c & 0xffn);
    c >>= 8n;
  }
  return nonce;
}

// ---- encryption (§4.4.3, §4.4.4) -----------------------------------------------------

/**
 * encrypt(CTR, KID, metadata, plaintext): header + AEAD.Encrypt(sframe_key,
 * nonce, header + metadata, plaintext). The caller must never use a CTR
 * twice with one key: SFrameSender does the counting.
 */
export async function encrypt(
  key: SFrameKey,
  ctr: bigint,
  plaintext: Uint8Array,
  metadata: Uint8Array = EMPTY,
): Promise<Uint8Array<ArrayBuffer>> {
  const header = encodeHeader(key.kid, ctr);
  const sealed = await globalThis.crypto.subtle.encrypt(
    { name: "AES-GCM", iv: makeNonce(key.salt, ctr), additionalData: bufferSource(concatBytes(header, metadata)), tagLength: NT * 8 },
    key.key,
    bufferSource(plaintext),
  );
  const out = new Uint8Array(header.length + sealed.byteLength);
  out.set(header);
  out.set(new Uint8Array(sealed), header.length);
  return out;
}

/**
 * decrypt(metadata, sframe_ciphertext) with the key the caller found for the
 * header's KID. Returns null, never throws, when the header is malformed,
 * names another KID, or the ciphertext or anything authenticated was altered.
 */
export async function decrypt(
  key: SFrameKey,
  ciphertext: Uint8Array,
  metadata: Uint8Array = EMPTY,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const header = decodeHeader(ciphertext);
  if (header === null || header.kid !== key.kid || ciphertext.length < header.length + NT) return null;
  try {
    const plain = await globalThis.crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: makeNonce(key.salt, header.ctr),
        additionalData: bufferSource(concatBytes(ciphertext.subarray(0, header.length), metadata)),
        tagLength: NT * 8,
      },
      key.key,
      bufferSource(ciphertext.subarray(header.length)),
    );
    return new Uint8Array(plain);
  } catch {
    return null;
  }
}

/** Where senders take their CTRs from; shared, it keeps values unique across several senders. */
export interface FrameCounter {
  next: bigint;
}

/**
 * Encrypts with one key and a counter that only goes up, so each (KID, CTR)
 * is used exactly once (§4.3, §7.4). The counter is taken before the
 * asynchronous encryption starts: concurrent calls get distinct values.
 * Every stream sharing a KID must share one SFrameSender. Senders may also
 * share one FrameCounter (MediaKeyStore does): then even a key given again
 * never sees a CTR twice.
 */
export class SFrameSender {
  constructor(
    readonly key: SFrameKey,
    private readonly ctr: FrameCounter = { next: 0n },
  ) {}

  /** The CTR the next frame will carry. */
  get counter(): bigint {
    return this.ctr.next;
  }

  encrypt(plaintext: Uint8Array, metadata?: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    const ctr = this.ctr.next;
    if (ctr > MAX_U64) return Promise.reject(new RangeError("SFrame counter exhausted for this key"));
    this.ctr.next = ctr + 1n;
    return encrypt(this.key, ctr, plaintext, metadata);
  }
}

// ---- anti-replay (§9.3) ----------------------------------------------------------------

/** Ring size of a ReplayWindow in bits (64 words of 32 bits: 256 bytes per sender key). */
const RING_BITS = 2048;
const RING_WORDS = RING_BITS / 32;

/**
 * How far below the highest accepted CTR a frame may still be accepted:
 * CTRs top - REPLAY_WINDOW + 1 … top are told apart exactly, anything older
 * is refused. (The ring's word holding `top` also stands for the oldest
 * CTRs, so the usable window is one word short of the ring; RFC 6479.)
 *
 * Why 2016: one Kaigi sender's streams all draw from one counter (camera
 * simulcast 3 × 30 frames/s, screen 30, microphone and screen audio 50
 * each: about 250 CTRs a second at most), and a receiver sees them on
 * several streams that do not keep step: a video frame waiting for a
 * retransmission, or held by the sender's pacer (which lets audio pass),
 * arrives after audio frames with higher CTRs. 2016 CTRs is 8 s of such
 * lag, longer than either jitter buffer would wait for a frame. Simulcast
 * gaps (a receiver gets one layer, the other layers' CTRs never come) only
 * leave bits unset. The size costs memory, not safety: every CTR inside
 * the window is remembered exactly.
 */
export const REPLAY_WINDOW = RING_BITS - 32;

/**
 * The CTRs already accepted under one receiving key (RFC 9605 §9.3; the
 * sliding window of RFC 4303 §3.4.3, kept as a ring of bits as in RFC 6479
 * so that moving forward costs a word, not a shift). A frame is accepted
 * once per CTR, and not when its CTR is REPLAY_WINDOW or more below the
 * highest accepted. Call accept() only after the frame authenticated, so
 * that a forged frame cannot move the window; check() before decrypting is
 * a cheap early drop that changes nothing.
 *
 * CTRs above 2^53 - 1 are refused, which keeps the arithmetic in plain
 * numbers: no sender of ours gets there (2^53 frames at 1000 a second take
 * 285,000 years).
 */
export class ReplayWindow {
  /** The highest CTR accepted; -1 before the first. */
  private top = -1;
  /** Bit (ctr mod RING_BITS) is set when ctr was accepted, for the CTRs of the window. */
  private readonly ring = new Uint32Array(RING_WORDS);

  /** Whether a frame with this CTR would be accepted now (not seen, not too old). */
  check(ctr: bigint): boolean {
    if (ctr > MAX_SAFE_CTR) return false;
    const c = Number(ctr);
    if (c > this.top) return true;
    if (this.top - c >= REPLAY_WINDOW) return false;
    const pos = c % RING_BITS;
    return (this.ring[pos >>> 5]! & (1 << (pos & 31))) === 0;
  }

  /** Records an authenticated frame's CTR; false when it must be dropped (seen, or too old). */
  accept(ctr: bigint): boolean {
    if (!this.check(ctr)) return false;
    const c = Number(ctr);
    if (c > this.top) {
      // Entering a word of the ring clears it: its bits stood for CTRs now out of the window.
      const from = Math.floor(this.top / 32);
      const to = Math.floor(c / 32);
      if (this.top < 0 || to - from >= RING_WORDS) this.ring.fill(0);
      else for (let w = from + 1; w <= to; w++) this.ring[w % RING_WORDS] = 0;
      this.top = c;
    }
    const pos = c % RING_BITS;
    this.ring[pos >>> 5]! |= 1 << (pos & 31);
    return true;
  }
}

const MAX_SAFE_CTR = BigInt(Number.MAX_SAFE_INTEGER);
