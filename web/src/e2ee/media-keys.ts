// Per-sender SFrame keys from MLS, as RFC 9605 §5.2 defines them, and the
// store that holds them for the media transform.
//
// Each MLS epoch gives one secret, sframe_epoch_secret =
// MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk), which the RFC uses as the
// base_key of every KID in that epoch. What makes each sender's key unique is
// its KID, which goes into the labels of derive_key_salt (§4.4.2):
//
//   KID = (sender_leaf_index << E) | (epoch mod 2^E),  E = EPOCH_BITS = 4
//
// (the RFC's context bits, above the index, are always 0 here). So sender
// `i` in epoch `n` encrypts with derive_key_salt(KID(i, n), epoch_secret(n)),
// and nobody else ever encrypts with that key. A receiver looks at a frame's
// KID, takes the epoch whose low E bits match, and derives that sender's key.
//
// The store keeps the current epoch plus a few previous ones, for frames
// still in flight when the group moved on. A previous epoch is forgotten
// `retireAfterMs` after it was replaced: a member removed by the newer epoch
// knows the older keys, so the window in which it could still inject media
// under them is kept short.
//
// Each receiving key comes with its replay window (sframe.ts ReplayWindow):
// one per (epoch, sender leaf), that is per KID, shared by every stream on
// which that sender's frames arrive, because all of a sender's streams draw
// from its one counter. A server that sends a frame again, on the same
// stream or on another, gets it dropped.
//
// Groups: the keys of one MLS group only go forward, epoch by epoch. When
// the group itself is replaced (after a server restart, or once the last
// member left, the meeting's group is created again at epoch 0, under the
// same MLS group id), the page says so by naming another `groupInstance`,
// and the new group's keys replace all the old ones. The store never hands
// out a CTR twice, whatever the page does: its senders share one counter
// that no key change, clear() included, takes back.

import { deriveKey, NK, ReplayWindow, SFrameSender, type FrameCounter, type SFrameKey } from "./sframe.js";

/** The MLS exporter label of RFC 9605 §5.2. */
export const SFRAME_EXPORTER_LABEL = "SFrame 1.0 Base Key";
/** AEAD.Nk of AES_128_GCM_SHA256_128: the exporter output length. */
export const SFRAME_EXPORTER_LENGTH = NK;
/** E: low bits of the epoch carried in a KID. 16 epochs can be told apart. */
export const EPOCH_BITS = 4;
/** The largest leaf index a KID may name (far above any meeting's size). */
export const MAX_LEAF_INDEX = 0xffff;

const EPOCH_MASK = (1n << BigInt(EPOCH_BITS)) - 1n;

/** The KID with which `leafIndex` encrypts in `epoch`. */
export function kidFor(leafIndex: number, epoch: bigint): bigint {
  if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex > MAX_LEAF_INDEX) {
    throw new RangeError("leaf index out of range");
  }
  return (BigInt(leafIndex) << BigInt(EPOCH_BITS)) | (epoch & EPOCH_MASK);
}

/** Splits a KID into sender leaf index and epoch bits; null for a KID no member of ours would use. */
export function parseKid(kid: bigint): { leafIndex: number; epochBits: number } | null {
  const leaf = kid >> BigInt(EPOCH_BITS);
  if (kid < 0n || leaf > BigInt(MAX_LEAF_INDEX)) return null;
  return { leafIndex: Number(leaf), epochBits: Number(kid & EPOCH_MASK) };
}

/** What the media transform needs of one MLS epoch (mls.ts `Group.mediaKeys()` makes it). */
export interface EpochKeys {
  epoch: bigint;
  /** MLS-Exporter("SFrame 1.0 Base Key", "", 16) of this epoch. Secret. */
  epochSecret: Uint8Array;
  /** This member's leaf index: it encrypts with its own KID and never decrypts with it. */
  ownLeafIndex: number;
  /**
   * The members' leaf indices in this epoch. Frames naming any other leaf are
   * dropped before any key is derived. Omitted: any leaf is tried.
   */
  memberLeafIndices?: readonly number[];
  /**
   * Which group these keys belong to, in the page's own terms: a value the
   * page makes afresh each time it creates or joins an MLS group (for
   * example 16 random bytes in hex, made in Group.create and Group.join) and
   * repeats for every epoch of that group. Not the MLS group id: a group
   * created again after a reset has the same id, and epochs starting again
   * at 0. Keys naming another group than the current keys replace them all;
   * keys of the same group, or without this field, must move to a later
   * epoch.
   */
  groupInstance?: string;
}

export interface MediaKeyStoreOptions {
  /** Previous epochs kept for late frames (default 2, at most 2^EPOCH_BITS - 1). */
  previousEpochs?: number;
  /** How long a replaced epoch still decrypts, in ms (default 5000). */
  retireAfterMs?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** Why no key was found for a KID. */
export type KeyMiss =
  /** Not a KID of this scheme (context bits set, absurd leaf index). */
  | "bad-kid"
  /** No epoch with these low bits: not yet received, or replaced more than retireAfterMs ago. */
  | "unknown-epoch"
  /** Our own KID: receivers never use a sending key (RFC 9605 §4.4.1). */
  | "own-kid"
  /** The leaf is not a member in that epoch. */
  | "not-member";

export interface ReceiverKey {
  key: SFrameKey;
  leafIndex: number;
  epoch: bigint;
  /** The CTRs this key has accepted, shared by all the sender's streams. */
  window: ReplayWindow;
}

interface Receiver {
  key: Promise<SFrameKey>;
  window: ReplayWindow;
}

interface Epoch {
  epoch: bigint;
  secret: Uint8Array;
  ownLeaf: number;
  members: ReadonlySet<number> | null;
  /** When a newer epoch replaced it (null: current). */
  retiredAt: number | null;
  receivers: Map<number, Receiver>;
  sender: Promise<SFrameSender> | null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class MediaKeyStore {
  /** Newest first; epochs[0] is current. */
  private epochs: Epoch[] = [];
  /** The page's name for the group of the current keys (EpochKeys.groupInstance). */
  private group: string | null = null;
  /** Every sender's CTRs come from here; never reset, so no (KID, CTR) repeats even if keys do. */
  private readonly sendCounter: FrameCounter = { next: 0n };
  private readonly previousEpochs: number;
  private readonly retireAfterMs: number;
  private readonly now: () => number;

  constructor(opts: MediaKeyStoreOptions = {}) {
    this.previousEpochs = Math.min(opts.previousEpochs ?? 2, Number(EPOCH_MASK));
    this.retireAfterMs = opts.retireAfterMs ?? 5000;
    this.now = opts.now ?? (() => Date.now());
  }

  /** The current epoch, or null before the first keys. */
  get currentEpoch(): bigint | null {
    return this.epochs[0]?.epoch ?? null;
  }

  /**
   * Makes `keys` the current epoch; true when they are new keys, false when
   * they are the current keys again (then only the member list changes).
   * Keys naming another groupInstance than the current ones start afresh:
   * every older key, and its replay windows, is forgotten. Within one group
   * epochs only go forward: an older epoch, or the same epoch with another
   * secret, throws.
   */
  setKeys(keys: EpochKeys): boolean {
    kidFor(keys.ownLeafIndex, keys.epoch); // validates the leaf index
    const current = this.epochs[0];
    if (current) {
      if (keys.epoch === current.epoch && sameBytes(keys.epochSecret, current.secret) && keys.ownLeafIndex === current.ownLeaf) {
        current.members = keys.memberLeafIndices ? new Set(keys.memberLeafIndices) : null;
        if (keys.groupInstance !== undefined) this.group = keys.groupInstance;
        return false;
      }
      if (keys.groupInstance !== undefined && keys.groupInstance !== this.group) {
        // A new group: the old one's members and keys are no business of it
        // (and its epoch numbers say nothing about the new group's).
        this.clear();
      } else {
        if (keys.epoch <= current.epoch) throw new Error(`media keys for epoch ${keys.epoch} after epoch ${current.epoch}`);
        current.retiredAt = this.now();
      }
    }
    if (keys.groupInstance !== undefined) this.group = keys.groupInstance;
    const bits = keys.epoch & EPOCH_MASK;
    // RFC 9605 §5.2: an epoch with the same low bits as the new one goes.
    const kept: Epoch[] = [];
    for (const e of this.epochs) {
      if ((e.epoch & EPOCH_MASK) !== bits && kept.length < this.previousEpochs) kept.push(e);
      else forget(e);
    }
    this.epochs = [
      {
        epoch: keys.epoch,
        secret: keys.epochSecret.slice(),
        ownLeaf: keys.ownLeafIndex,
        members: keys.memberLeafIndices ? new Set(keys.memberLeafIndices) : null,
        retiredAt: null,
        receivers: new Map(),
        sender: null,
      },
      ...kept,
    ];
    return true;
  }

  /**
   * Forgets every key and which group they were of (leaving the meeting, or
   * moving to another group). The sending counter goes on.
   */
  clear(): void {
    for (const e of this.epochs) forget(e);
    this.epochs = [];
    this.group = null;
  }

  /**
   * The sender for this member in the current epoch, or null before the
   * first keys. One per epoch, shared by every stream this member sends,
   * and all drawing from the store's one counter, so no (KID, CTR) is ever
   * used twice.
   */
  sender(): Promise<SFrameSender> | null {
    const e = this.epochs[0];
    if (!e) return null;
    e.sender ??= deriveKey(e.secret, kidFor(e.ownLeaf, e.epoch), "encrypt").then((k) => new SFrameSender(k, this.sendCounter));
    return e.sender;
  }

  /** The decryption key and replay window for a frame's KID, or why there is none. */
  async receiverKey(kid: bigint): Promise<ReceiverKey | KeyMiss> {
    const parsed = parseKid(kid);
    if (parsed === null) return "bad-kid";
    this.forgetRetired();
    const e = this.epochs.find((x) => Number(x.epoch & EPOCH_MASK) === parsed.epochBits);
    if (!e) return "unknown-epoch";
    const leaf = parsed.leafIndex;
    if (leaf === e.ownLeaf) return "own-kid";
    if (e.members !== null && !e.members.has(leaf)) return "not-member";
    let r = e.receivers.get(leaf);
    if (!r) {
      r = { key: deriveKey(e.secret, kid, "decrypt"), window: new ReplayWindow() };
      e.receivers.set(leaf, r);
    }
    return { key: await r.key, leafIndex: leaf, epoch: e.epoch, window: r.window };
  }

  private forgetRetired(): void {
    const now = this.now();
    this.epochs = this.epochs.filter((e) => {
      const keep = e.retiredAt === null || now - e.retiredAt <= this.retireAfterMs;
      if (!keep) forget(e);
      return keep;
    });
  }
}

/** Drops an epoch's secrets (as far as JavaScript lets one: the bytes are overwritten, keys released). */
function forget(e: Epoch): void {
  e.secret.fill(0);
  e.receivers.clear();
  e.sender = null;
}
