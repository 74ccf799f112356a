// Messages for one member only (design: "Everything else is MLS application
// messages": private chat). An MLS application message can be read by every
// member of the group, so "private" cannot mean "routed to one person by
// the server". Instead each member holds a private-message key pair (HPKE,
// the group's ciphersuite: DHKEM X25519, HKDF-SHA256, AES-128-GCM), made
// fresh for each group it joins, and announces the public half in its
// presence message, which its MLS leaf signs. A private message is sealed
// to the addressee's key, and the sealed box then travels inside an
// ordinary MLS application message, so:
//
// - only the addressee (and the sender, who keeps its own copy) can read it;
//   other members see a box they cannot open;
// - the sender is the MLS leaf that signed the outer message;
// - the box is bound to the group, the epoch, the sender's leaf and the
//   addressee's leaf (HPKE info), and the addressee participant is inside
//   it: a server that redirects, relabels or replays it into another
//   context gets it refused.

import { concatBytes } from "./bytes.js";
import { E2EEError } from "./errors.js";
import { hpke } from "./mls.js";

const INFO_LABEL = new TextEncoder().encode("Kaigi private message v1\0");

/** This member's private-message key pair for one group. */
export interface BoxKey {
  /** The public key to announce (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Opaque: the HPKE private key, never exported. */
  readonly privateKey: CryptoKey;
}

/** Where a sealed message may be opened: its group, epoch and the two leaves. */
export interface BoxContext {
  groupId: Uint8Array;
  epoch: bigint;
  senderLeaf: number;
  recipientLeaf: number;
}

/** A sealed message: HPKE's encapsulated key and ciphertext. */
export interface Sealed {
  enc: Uint8Array;
  ct: Uint8Array;
}

function info(c: BoxContext): Uint8Array {
  const fixed = new Uint8Array(8 + 4 + 4 + 2);
  const v = new DataView(fixed.buffer);
  v.setBigUint64(0, c.epoch);
  v.setUint32(8, c.senderLeaf);
  v.setUint32(12, c.recipientLeaf);
  v.setUint16(16, c.groupId.length);
  return concatBytes(INFO_LABEL, fixed, c.groupId);
}

export async function newBoxKey(): Promise<BoxKey> {
  const h = await hpke();
  const pair = await h.generateKeyPair();
  return { publicKey: await h.exportPublicKey(pair.publicKey), privateKey: pair.privateKey };
}

/** Seals `plaintext` to the holder of `recipientKey`, in this context. */
export async function seal(recipientKey: Uint8Array, c: BoxContext, plaintext: Uint8Array): Promise<Sealed> {
  const h = await hpke();
  let pub;
  try {
    pub = await h.importPublicKey(recipientKey);
  } catch (e) {
    throw new E2EEError("bad-request", "not a private-message key", { cause: e });
  }
  const { enc, ct } = await h.seal(pub, plaintext, info(c));
  return { enc, ct };
}

/** Opens a sealed message with our key; throws E2EEError "rejected" if it was not sealed to us in this context. */
export async function open(key: BoxKey, c: BoxContext, sealed: Sealed): Promise<Uint8Array> {
  const h = await hpke();
  try {
    return await h.open(key.privateKey as Parameters<typeof h.open>[0], sealed.enc, sealed.ct, info(c));
  } catch (e) {
    throw new E2EEError("rejected", "a private message that was not sealed to us here", { cause: e });
  }
}
