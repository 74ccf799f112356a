// What this device remembers for E2EE (design: "Identity"): its own
// long-term signing identity, and the people whose fingerprints the user
// verified, so that a later meeting can say "verified" or warn "key
// changed".
//
// The logic works on any KeyValueStore; openIndexedDBStore() is the thin
// browser adapter. IndexedDB keeps a non-extractable CryptoKey as an opaque
// key object (structured clone), so the private key is never readable by
// script, even from storage. Where WebCrypto lacks Ed25519 the private key is
// a 32-byte seed and is stored as bytes: the browser offers nothing better
// (signing.ts). Origin isolation is what protects either.

import { equalBytes } from "./bytes.js";
import { fingerprint } from "./securitycode.js";
import { generateSigningIdentity, sign, verify, type SigningIdentity } from "./signing.js";

/** The storage the identity store needs: structured-clone values under string keys. */
export interface KeyValueStore {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  /** Stores only if the key is free; false if it was taken (another tab won). */
  add(key: string, value: unknown): Promise<boolean>;
  delete(key: string): Promise<void>;
}

/** A KeyValueStore in memory: for tests, and when IndexedDB is unavailable (nothing is remembered). */
export class MemoryStore implements KeyValueStore {
  private readonly values = new Map<string, unknown>();

  async get(key: string): Promise<unknown> {
    return this.values.get(key);
  }

  async put(key: string, value: unknown): Promise<void> {
    this.values.set(key, value);
  }

  async add(key: string, value: unknown): Promise<boolean> {
    if (this.values.has(key)) return false;
    this.values.set(key, value);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }
}

/** The browser's IndexedDB as a KeyValueStore (one object store, "kv"). */
export async function openIndexedDBStore(dbName = "kaigi-e2ee"): Promise<KeyValueStore> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(dbName, 1);
    req.onupgradeneeded = () => req.result.createObjectStore("kv");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  function run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction("kv", mode);
      const req = op(tx.objectStore("kv"));
      tx.oncomplete = () => resolve(req.result);
      tx.onabort = () => reject(tx.error ?? req.error);
    });
  }
  return {
    get: (key) => run("readonly", (s) => s.get(key)),
    put: async (key, value) => {
      await run("readwrite", (s) => s.put(value, key));
    },
    add: (key, value) =>
      run("readwrite", (s) => s.add(value, key)).then(
        () => true,
        (e: unknown) => {
          if (e instanceof DOMException && e.name === "ConstraintError") return false;
          throw e;
        },
      ),
    delete: async (key) => {
      await run("readwrite", (s) => s.delete(key));
    },
  };
}

/** How a participant's key relates to what this device remembers. */
export type Verification =
  /** The user verified this person with exactly this key. */
  | { status: "verified"; verifiedAt: number }
  /** Nothing remembered for this person. */
  | { status: "unverified" }
  /** The user verified this person with another key: warn before trusting. */
  | { status: "key-changed"; verifiedAt: number; previousFingerprint: string };

interface StoredIdentity {
  publicKey: Uint8Array;
  privateKey: CryptoKey | Uint8Array;
  createdAt: number;
}

interface StoredVerification {
  name: string;
  publicKey: Uint8Array;
  verifiedAt: number;
}

const IDENTITY_KEY = "identity";
const VERIFIED_PREFIX = "verified:";

/** People are remembered by display name, compared without case, width or surrounding space differences. */
export function personKey(name: string): string {
  return VERIFIED_PREFIX + name.normalize("NFKC").trim().toLowerCase();
}

function isStoredIdentity(v: unknown): v is StoredIdentity {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  const pk = o.privateKey;
  const privateOk = (pk instanceof Uint8Array && pk.length === 32) || (typeof CryptoKey !== "undefined" && pk instanceof CryptoKey);
  return o.publicKey instanceof Uint8Array && o.publicKey.length === 32 && privateOk;
}

function isStoredVerification(v: unknown): v is StoredVerification {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.publicKey instanceof Uint8Array && typeof o.verifiedAt === "number";
}

/** Whether the private key really belongs to the public key (a damaged store must not yield a broken identity). */
async function consistent(id: StoredIdentity): Promise<boolean> {
  const probe = new TextEncoder().encode("kaigi identity check");
  try {
    return await verify(id.publicKey, probe, await sign(id.privateKey, probe));
  } catch {
    return false;
  }
}

export class IdentityStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * This device's signing identity: the stored one, or a new one stored now.
   * A stored identity that is damaged is replaced (others will then see
   * "key changed", which is the truth).
   */
  async identity(): Promise<SigningIdentity> {
    const stored = await this.store.get(IDENTITY_KEY);
    if (isStoredIdentity(stored) && (await consistent(stored))) return { publicKey: stored.publicKey, privateKey: stored.privateKey };
    const fresh = await generateSigningIdentity();
    const record: StoredIdentity = { ...fresh, createdAt: this.now() };
    if (stored === undefined) {
      if (await this.store.add(IDENTITY_KEY, record)) return fresh;
      // Another tab created one at the same moment: use that.
      const theirs = await this.store.get(IDENTITY_KEY);
      if (isStoredIdentity(theirs)) return { publicKey: theirs.publicKey, privateKey: theirs.privateKey };
    }
    await this.store.put(IDENTITY_KEY, record);
    return fresh;
  }

  /** Compares a participant's key with what the user verified before. */
  async check(name: string, signaturePublicKey: Uint8Array): Promise<Verification> {
    const v = await this.store.get(personKey(name));
    if (!isStoredVerification(v)) return { status: "unverified" };
    if (equalBytes(v.publicKey, signaturePublicKey)) return { status: "verified", verifiedAt: v.verifiedAt };
    return { status: "key-changed", verifiedAt: v.verifiedAt, previousFingerprint: await fingerprint(v.publicKey) };
  }

  /** Remembers that the user compared this person's fingerprint and it matched. */
  async markVerified(name: string, signaturePublicKey: Uint8Array): Promise<void> {
    const record: StoredVerification = { name: name.trim(), publicKey: signaturePublicKey.slice(), verifiedAt: this.now() };
    await this.store.put(personKey(name), record);
  }

  /** Forgets a person (e.g. after accepting a changed key, before verifying it again). */
  async forget(name: string): Promise<void> {
    await this.store.delete(personKey(name));
  }
}
