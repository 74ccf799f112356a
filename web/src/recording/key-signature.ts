// A recording key signed by a device (docs/security.md, "Key substitution
// by the server"): the browser that holds an account's recording key signs
// its public half with the device identity key it certifies its MLS
// leaves with (e2ee/credential.ts), and the server stores the signature
// with the key. A recorder checks a reader's key against the device keys
// the meeting's MLS group has for that reader's account: a key the server
// swapped carries no signature by any of them.
//
// The signature: version byte 1, the device's Ed25519 public key (32
// bytes), and its signature (64 bytes) over "Kaigi recording key
// signature v1" || 0 || the recording public key || the account's length
// (one byte) || the account ID (UTF-8, at most 64 bytes).
//
// What it does not do: a reader who is not in the meeting (the meeting's
// owner, away) has no device in the group to check against, so their key
// is still trusted on first use and pinned (keys.ts); and a device key is
// bound to an account only by that device's own word, checked by the
// member list (an account that is not its participant's is flagged) and
// by people comparing fingerprints: a server that put a device of its own
// in the group under the reader's account could sign a key of its own,
// but that device would be a member everyone sees.

import { concatBytes, equalBytes, toHex } from "../e2ee/bytes.js";
import { sign, verify, type SigningIdentity } from "../e2ee/signing.js";

const VERSION = 1;
const LABEL = new TextEncoder().encode("Kaigi recording key signature v1\0");
const MAX_ACCOUNT_BYTES = 64;
/** A signature's length: version, device key, Ed25519 signature. */
export const KEY_SIGNATURE_LENGTH = 1 + 32 + 64;

function statement(publicKey: Uint8Array, account: string): Uint8Array | null {
  const a = new TextEncoder().encode(account);
  if (a.length === 0 || a.length > MAX_ACCOUNT_BYTES) return null;
  return concatBytes(LABEL, publicKey, new Uint8Array([a.length]), a);
}

/** Signs `account`'s recording public key with this device's identity. */
export async function signRecordingKey(device: SigningIdentity, publicKey: Uint8Array, account: string): Promise<Uint8Array> {
  const m = statement(publicKey, account);
  if (m === null) throw new Error("an account ID of 1 to 64 bytes is needed to sign a recording key");
  return concatBytes(new Uint8Array([VERSION]), device.publicKey, await sign(device.privateKey, m));
}

/** The device key that signed `account`'s recording key, or null when the signature is absent or does not verify. */
export async function recordingKeySigner(signature: Uint8Array | undefined, publicKey: Uint8Array, account: string): Promise<Uint8Array | null> {
  if (!signature || signature.length !== KEY_SIGNATURE_LENGTH || signature[0] !== VERSION) return null;
  const m = statement(publicKey, account);
  if (m === null) return null;
  const device = signature.slice(1, 33);
  return (await verify(device, m, signature.slice(33))) ? device : null;
}

/** A reader's key as the recorder sees it: whose, the key, the signature the server returned with it. */
export interface SignedReaderKey {
  account: string;
  publicKey: Uint8Array;
  signature?: Uint8Array;
}

/** A member of the meeting's group as the screen knows it (e2ee/member-view.ts). */
export interface GroupDevice {
  identity: Uint8Array;
  account: string;
  problem: unknown;
}

/**
 * How a reader's key stands against the meeting's group:
 * - "signed": signed by a device the group has for that account (a member nothing is wrong with);
 * - "unsigned": the account has a device in the group, but none of its devices signed this key (the server may have swapped it);
 * - "absent": the account has no device in the group: nothing to check against.
 */
export type ReaderKeyCheck = "signed" | "unsigned" | "absent";

export async function checkReaderKey(reader: SignedReaderKey, members: readonly GroupDevice[]): Promise<ReaderKeyCheck> {
  const devices = new Set(members.filter((m) => m.problem === null && m.account !== "" && m.account === reader.account).map((m) => toHex(m.identity)));
  if (devices.size === 0) return "absent";
  const signer = await recordingKeySigner(reader.signature, reader.publicKey, reader.account);
  return signer !== null && devices.has(toHex(signer)) ? "signed" : "unsigned";
}

/** Whether this signature is this device's, over this key and account (no need to sign again). */
export async function signedByDevice(signature: Uint8Array | undefined, device: SigningIdentity, publicKey: Uint8Array, account: string): Promise<boolean> {
  const signer = await recordingKeySigner(signature, publicKey, account);
  return signer !== null && equalBytes(signer, device.publicKey);
}
