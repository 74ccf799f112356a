// This account's recording key in this browser (docs/security.md,
// "Recording"): an X25519 key pair made here; the public half goes to the
// server (PUT /api/me/recording-key), the private half stays in
// IndexedDB ("kaigi-recording"). Another device gets it only through a
// backup file the owner exports, sealed with a passphrase they choose
// (scrypt, N = 2^17, r = 8, p = 1, then AES-256-GCM): the server never
// sees the passphrase or the file. Limits: script of this origin can read
// the private key from storage (IndexedDB holds it as bytes: HPKE needs
// the raw key), and a backup is as strong as its passphrase.
//
// Readers' public keys come from the server, which could hand out a key
// of its own. So the recorder and a sharer see each reader's fingerprint,
// and this browser pins the fingerprint it last used for each account
// ("kaigi.recordingPins"): a changed key is pointed out before anything is
// wrapped for it. A key never seen before can only be checked by
// comparing fingerprints with its owner, or, when its owner is in the
// end-to-end encrypted meeting being recorded, by the signature of their
// browser's device key (key-signature.ts).

import { x25519 } from "@noble/curves/ed25519.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { fromBase64, toBase64 } from "../e2ee/base64.js";
import { concatBytes, equalBytes, toHex } from "../e2ee/bytes.js";
import type { KeyValueStore } from "../e2ee/identity-store.js";
import { generateRecordingKeyPair, RecordingCryptoError, type RecordingKeyPair } from "./crypto.js";

/** The IndexedDB database this browser keeps its recording key in. */
export const RECORDING_DB = "kaigi-recording";
const KEY = "key";
const PINS_KEY = "kaigi.recordingPins";

interface StoredKey {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  createdAt: number;
}

function valid(v: unknown): v is StoredKey {
  const s = v as StoredKey;
  return (
    typeof v === "object" &&
    v !== null &&
    s.publicKey instanceof Uint8Array &&
    s.privateKey instanceof Uint8Array &&
    s.privateKey.length === 32 &&
    equalBytes(x25519.getPublicKey(s.privateKey), s.publicKey)
  );
}

/** The recording key kept in a KeyValueStore (IndexedDB in the browser, memory in tests). */
export class RecordingKeyStore {
  constructor(private readonly kv: KeyValueStore) {}

  /** The key pair this browser holds, or null. */
  async load(): Promise<RecordingKeyPair | null> {
    const v = await this.kv.get(KEY);
    return valid(v) ? { publicKey: v.publicKey, privateKey: v.privateKey } : null;
  }

  /** Makes a new key pair and keeps it (replacing any). */
  async create(): Promise<RecordingKeyPair> {
    const kp = await generateRecordingKeyPair();
    await this.save(kp);
    return kp;
  }

  async save(kp: RecordingKeyPair): Promise<void> {
    const v: StoredKey = { publicKey: kp.publicKey, privateKey: kp.privateKey, createdAt: Date.now() };
    if (!valid(v)) throw new RecordingCryptoError("That private key does not match its public key.");
    await this.kv.put(KEY, v);
  }
}

/** A recording key's fingerprint, to compare out of band: 20 hex digits in groups of 4. */
export async function recordingKeyFingerprint(publicKey: Uint8Array): Promise<string> {
  const h = new Uint8Array(
    await globalThis.crypto.subtle.digest("SHA-256", concatBytes(new TextEncoder().encode("Kaigi recording key v1\0"), publicKey) as Uint8Array<ArrayBuffer>),
  );
  return (toHex(h.subarray(0, 10)).match(/.{4}/g) ?? []).join(" ");
}

// ---- backup ----------------------------------------------------------------------------

/** scrypt's cost; tests pass a small N. */
export interface BackupCost {
  N: number;
}

const BACKUP_COST: BackupCost = { N: 2 ** 17 };

async function backupKey(passphrase: string, salt: Uint8Array, N: number): Promise<CryptoKey> {
  const raw = await scryptAsync(passphrase.normalize("NFKC"), salt, { N, r: 8, p: 1, dkLen: 32 });
  return globalThis.crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** The backup file's text: the private key sealed with the passphrase. */
export async function exportBackup(kp: RecordingKeyPair, passphrase: string, cost: BackupCost = BACKUP_COST): Promise<string> {
  if (passphrase.length < 10) throw new RecordingCryptoError("Choose a passphrase of at least 10 characters.");
  const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const key = await backupKey(passphrase, salt, cost.N);
  const ct = new Uint8Array(
    await globalThis.crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: kp.publicKey as Uint8Array<ArrayBuffer> }, key, kp.privateKey as Uint8Array<ArrayBuffer>),
  );
  return JSON.stringify({
    kaigi: "recording-key",
    v: 1,
    kdf: { name: "scrypt", N: cost.N, r: 8, p: 1 },
    salt: toBase64(salt),
    nonce: toBase64(nonce),
    publicKey: toBase64(kp.publicKey),
    sealed: toBase64(ct),
  });
}

/** Opens a backup file with its passphrase; throws RecordingCryptoError for a wrong passphrase or a damaged file. */
export async function importBackup(text: string, passphrase: string): Promise<RecordingKeyPair> {
  let b: { kaigi?: unknown; v?: unknown; kdf?: { N?: unknown }; salt?: unknown; nonce?: unknown; publicKey?: unknown; sealed?: unknown };
  try {
    b = JSON.parse(text) as typeof b;
  } catch {
    throw new RecordingCryptoError("That is not a Kaigi recording key backup.");
  }
  const N = b.kdf?.N;
  if (b.kaigi !== "recording-key" || b.v !== 1 || typeof N !== "number" || N < 2 ** 10 || N > 2 ** 20 || typeof b.salt !== "string" ||
    typeof b.nonce !== "string" || typeof b.publicKey !== "string" || typeof b.sealed !== "string") {
    throw new RecordingCryptoError("That is not a Kaigi recording key backup.");
  }
  const publicKey = fromBase64(b.publicKey);
  const key = await backupKey(passphrase, fromBase64(b.salt), N);
  let privateKey: Uint8Array;
  try {
    privateKey = new Uint8Array(
      await globalThis.crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64(b.nonce) as Uint8Array<ArrayBuffer>, additionalData: publicKey as Uint8Array<ArrayBuffer> },
        key,
        fromBase64(b.sealed) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    throw new RecordingCryptoError("The passphrase is wrong, or the backup was changed.");
  }
  if (privateKey.length !== 32 || !equalBytes(x25519.getPublicKey(privateKey), publicKey)) {
    throw new RecordingCryptoError("The backup's key does not hold together.");
  }
  return { publicKey, privateKey };
}

// ---- pins --------------------------------------------------------------------------------

/** Fingerprints this browser last used per account. */
export type Pins = Record<string, string>;

export function loadPins(): Pins {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(PINS_KEY) ?? "{}") as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Pins) : {};
  } catch {
    return {};
  }
}

export function savePins(p: Pins): void {
  try {
    globalThis.localStorage?.setItem(PINS_KEY, JSON.stringify(p));
  } catch {
    // not remembered: every key looks new next time
  }
}

/** How a reader's key compares with this browser's pin: new, the same, or changed (warn). */
export type PinStatus = "new" | "same" | "changed";

export function pinStatus(pins: Pins, account: string, fp: string): PinStatus {
  const was = pins[account];
  if (was === undefined) return "new";
  return was === fp ? "same" : "changed";
}
