// The cryptography of a recording (docs/security.md, "Recording"): each
// recording has a fresh 256-bit content key, made in the recorder's
// browser. Every chunk is sealed with it (AES-256-GCM, a random 96-bit
// nonce), its associated data binding the recording's ID, the chunk's
// index and whether it is the last one, so that the server can neither
// reorder, swap between recordings, nor cut off the end unnoticed. The
// manifest (how many chunks, the format) is sealed the same way under
// its own label. The content key reaches each reader wrapped with HPKE
// (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-128-GCM, through ts-mls's implementation of the MLS ciphersuite we
// already use) to the reader's recording public key, with the recording's
// ID as associated data, so a wrapped key cannot be moved to another
// recording either.

import { getCiphersuiteFromName, getCiphersuiteImpl, type Hpke } from "ts-mls";
import { concatBytes } from "../e2ee/bytes.js";

/** Raised when something does not decrypt or does not hold together: never show a partial result as whole. */
export class RecordingCryptoError extends Error {}

const FORMAT = 1;
const NONCE = 12;
const CHUNK_LABEL = "kaigi recording chunk v1";
const MANIFEST_LABEL = "kaigi recording manifest v1";
const WRAP_INFO = new TextEncoder().encode("kaigi recording key v1");
const CONTENT_KEY_BYTES = 32;

let hpkeImpl: Promise<Hpke> | undefined;

function hpke(): Promise<Hpke> {
  hpkeImpl ??= getCiphersuiteImpl(getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519")).then((cs) => cs.hpke);
  return hpkeImpl;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function buf(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A recording key pair: X25519, raw 32-byte halves. */
export interface RecordingKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export async function generateRecordingKeyPair(): Promise<RecordingKeyPair> {
  const h = await hpke();
  const kp = await h.generateKeyPair();
  return { publicKey: await h.exportPublicKey(kp.publicKey), privateKey: await h.exportPrivateKey(kp.privateKey) };
}

/** A fresh content key. */
export function newContentKey(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(CONTENT_KEY_BYTES));
}

/** Wraps a content key for one reader's public key: enc (32 bytes) ‖ sealed key. */
export async function wrapContentKey(readerPublicKey: Uint8Array, contentKey: Uint8Array, recordingId: string): Promise<Uint8Array> {
  const h = await hpke();
  const { ct, enc: kem } = await h.seal(await h.importPublicKey(readerPublicKey), contentKey, WRAP_INFO, enc(recordingId));
  return concatBytes(kem, ct);
}

/** Unwraps a content key with this browser's private key; throws RecordingCryptoError if it is not ours or not this recording's. */
export async function unwrapContentKey(privateKey: Uint8Array, wrapped: Uint8Array, recordingId: string): Promise<Uint8Array> {
  const h = await hpke();
  try {
    const key = await h.open(await h.importPrivateKey(privateKey), wrapped.subarray(0, 32), wrapped.subarray(32), WRAP_INFO, enc(recordingId));
    if (key.length !== CONTENT_KEY_BYTES) throw new Error("length");
    return key;
  } catch {
    throw new RecordingCryptoError("This recording's key was not wrapped for this browser's recording key.");
  }
}

/** A chunk's associated data: label, recording ID, index, last or not. */
export function chunkAAD(recordingId: string, index: number, final: boolean): Uint8Array {
  const tail = new Uint8Array(5);
  new DataView(tail.buffer).setUint32(0, index);
  tail[4] = final ? 1 : 0;
  return concatBytes(enc(CHUNK_LABEL), new Uint8Array([0]), enc(recordingId), new Uint8Array([0]), tail);
}

function manifestAAD(recordingId: string): Uint8Array {
  return concatBytes(enc(MANIFEST_LABEL), new Uint8Array([0]), enc(recordingId));
}

async function aesKey(contentKey: Uint8Array): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey("raw", buf(contentKey), "AES-GCM", false, ["encrypt", "decrypt"]);
}

async function seal(contentKey: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE));
  const ct = await globalThis.crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: buf(aad) }, await aesKey(contentKey), buf(plaintext));
  return concatBytes(new Uint8Array([FORMAT]), nonce, new Uint8Array(ct));
}

async function open(contentKey: Uint8Array, aad: Uint8Array, sealed: Uint8Array, what: string): Promise<Uint8Array> {
  if (sealed.length < 1 + NONCE + 16 || sealed[0] !== FORMAT) throw new RecordingCryptoError(`${what} is not a Kaigi recording's.`);
  try {
    const pt = await globalThis.crypto.subtle.decrypt(
      { name: "AES-GCM", iv: buf(sealed.subarray(1, 1 + NONCE)), additionalData: buf(aad) },
      await aesKey(contentKey),
      buf(sealed.subarray(1 + NONCE)),
    );
    return new Uint8Array(pt);
  } catch {
    throw new RecordingCryptoError(`${what} does not decrypt: it was changed, moved, or is not part of this recording.`);
  }
}

export function encryptChunk(contentKey: Uint8Array, recordingId: string, index: number, final: boolean, plaintext: Uint8Array): Promise<Uint8Array> {
  return seal(contentKey, chunkAAD(recordingId, index, final), plaintext);
}

export function decryptChunk(contentKey: Uint8Array, recordingId: string, index: number, final: boolean, sealed: Uint8Array): Promise<Uint8Array> {
  return open(contentKey, chunkAAD(recordingId, index, final), sealed, `Chunk ${index}`);
}

/** What the recorder says about the whole recording, sealed. */
export interface Manifest {
  v: 1;
  chunks: number;
  mimeType: string;
  durationMs: number;
}

export function encryptManifest(contentKey: Uint8Array, recordingId: string, m: Manifest): Promise<Uint8Array> {
  return seal(contentKey, manifestAAD(recordingId), enc(JSON.stringify(m)));
}

export async function decryptManifest(contentKey: Uint8Array, recordingId: string, sealed: Uint8Array): Promise<Manifest> {
  const pt = await open(contentKey, manifestAAD(recordingId), sealed, "The manifest");
  const m = JSON.parse(new TextDecoder().decode(pt)) as Partial<Manifest>;
  if (m.v !== 1 || typeof m.chunks !== "number" || !Number.isInteger(m.chunks) || m.chunks < 0 || typeof m.mimeType !== "string" || typeof m.durationMs !== "number") {
    throw new RecordingCryptoError("The manifest is not one this version understands.");
  }
  return m as Manifest;
}

/**
 * Decrypts a whole recording: with its manifest, exactly the chunks it
 * names, the last sealed as last; a recording that was never finished
 * (no manifest) must still end in a chunk sealed as last, or it is
 * refused as cut off. Returns the plaintext chunks in order.
 */
export async function decryptRecording(
  contentKey: Uint8Array,
  recordingId: string,
  chunks: readonly Uint8Array[],
  manifest: Manifest | null,
): Promise<Uint8Array[]> {
  if (manifest && manifest.chunks !== chunks.length) {
    throw new RecordingCryptoError(`The recording should have ${manifest.chunks} chunks and ${chunks.length} arrived.`);
  }
  if (chunks.length === 0) throw new RecordingCryptoError("The recording is empty.");
  const out: Uint8Array[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const last = i === chunks.length - 1;
    try {
      out.push(await decryptChunk(contentKey, recordingId, i, last, chunks[i]!));
    } catch (e) {
      if (last) throw new RecordingCryptoError("The recording's end is missing or was changed: it may have been cut off.");
      throw e;
    }
  }
  return out;
}
