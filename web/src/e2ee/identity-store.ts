// What this device remembers for E2EE (design: "Identity"): its own
// long-term signing identity, and the people whose fingerprints the user
// verified, so that a later meeting can say "verified" or warn "key
// changed".
//
// People are remembered by account ID, never by display name (anyone can
// take any name): for each account, the device keys the user verified.
// A key of that account that is not among them is flagged, whatever name
// it comes with; a verified key shown under another account is simply not
// verified there. Guests have no account and cannot be remembered: they
// are shown as unverified guests. (Marks an older version stored by name
// are ignored.)
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
  /** The user verified this account with exactly this device key; `name` is what the person was called then. */
  | { status: "verified"; verifiedAt: number; name: string }
  /** Nothing remembered for this account. */
  | { status: "unverified" }
  /** A guest: no account to remember a verification by. */
  | { status: "guest" }
  /** The user verified this account on other devices, not with this key: warn before trusting. */
  | { status: "key-changed"; verifiedAt: number; previousFingerprint: string };

interface StoredIdentity {
  publicKey: Uint8Array;
  privateKey: CryptoKey | Uint8Array;
  createdAt: number;
}

interface StoredAccount {
  /** The display name when last verified, for the person's reference only. */
  name: string;
  keys: { publicKey: Uint8Array; verifiedAt: number }[];
}

const IDENTITY_KEY = "identity";
const ACCOUNT_PREFIX = "verified-account:";
/** Device keys remembered per account: more than anyone has devices. */
const KEYS_PER_ACCOUNT = 16;

/** Where an account's verified keys are stored. */
export function accountKey(account: string): string {
  return ACCOUNT_PREFIX + account;
}

function isStoredIdentity(v: unknown): v is StoredIdentity {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  const pk = o.privateKey;
  const privateOk = (pk instanceof Uint8Array && pk.length === 32) || (typeof CryptoKey !== "undefined" && pk instanceof CryptoKey);
  return o.publicKey instanceof Uint8Array && o.publicKey.length === 32 && privateOk;
}

function isStoredAccount(v: unknown): v is StoredAccount {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return Array.isArray(o.keys) && o.keys.every((k: unknown) => typeof k === "object" && k !== null && (k as { publicKey?: unknown }).publicKey instanceof Uint8Array && typeof (k as { verifiedAt?: unknown }).verifiedAt === "number");
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

  /** Compares a participant's device key with what the user verified for their account (null: a guest). */
  async check(account: string | null, deviceKey: Uint8Array): Promise<Verification> {
    if (account === null || account === "") return { status: "guest" };
    const v = await this.store.get(accountKey(account));
    if (!isStoredAccount(v) || v.keys.length === 0) return { status: "unverified" };
    const match = v.keys.find((k) => equalBytes(k.publicKey, deviceKey));
    if (match) return { status: "verified", verifiedAt: match.verifiedAt, name: v.name };
    const last = v.keys.reduce((a, b) => (b.verifiedAt > a.verifiedAt ? b : a));
    return { status: "key-changed", verifiedAt: last.verifiedAt, previousFingerprint: await fingerprint(last.publicKey) };
  }

  /** Remembers that the user compared this account's device fingerprint and it matched. */
  async markVerified(account: string, name: string, deviceKey: Uint8Array): Promise<void> {
    if (account === "") throw new Error("guests cannot be remembered");
    const v = await this.store.get(accountKey(account));
    const keys = isStoredAccount(v) ? v.keys.filter((k) => !equalBytes(k.publicKey, deviceKey)) : [];
    keys.push({ publicKey: deviceKey.slice(), verifiedAt: this.now() });
    const record: StoredAccount = { name: name.trim(), keys: keys.slice(-KEYS_PER_ACCOUNT) };
    await this.store.put(accountKey(account), record);
  }

  /** Forgets an account's verified keys (e.g. after accepting a changed key, before verifying it again). */
  async forget(account: string): Promise<void> {
    await this.store.delete(accountKey(account));
  }
}
