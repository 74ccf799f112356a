// What people compare to know their meeting is private (design: "Security
// code", "Identity").
//
// Security code: 30 decimal digits in six groups of five, e.g.
// "04129 93751 80266 31457 70903 11862". It is SHA-256("Kaigi security code
// v2" || 0x00 || epoch_authenticator); the first 16 bytes as a big-endian
// integer, mod 10^30 (≈ 2^99.7; the reduction favours some codes by at most
// 10^30 / 2^128 ≈ 3·10^-9). The MLS epoch authenticator (RFC 9420 §8.7) is
// the same for every member of one epoch and unpredictable to anyone outside
// it, so equal codes mean the same group with the same members; the code
// changes with every commit (join, leave, removal, key update).
//
// Why so long: a server that runs a split group (one group with some
// members, another with the rest, itself in both) can make commits in both
// halves until their codes collide. For an n-bit code that takes about
// 2^(n/2) commits per half: 2^20 for the old 12 digits (seconds of work),
// about 2^50 for these 30 (each try is an MLS commit: HPKE and a signature,
// so centuries of CPU time). docs/security.md states this work factor.
//
// Fingerprint: a device's Ed25519 identity key as 20 hex digits in five
// groups of four, e.g. "3f2a 9c41 0b7e 55d2 e810": the first 80 bits of
// SHA-256("Kaigi fingerprint v1" || 0x00 || public key). Matching a given
// fingerprint with another key takes about 2^80 tries (a second preimage:
// nothing to collide with, as the victim's key is fixed).

import { bufferSource, concatBytes, toHex } from "./bytes.js";

const encoder = new TextEncoder();

async function labelledHash(label: string, data: Uint8Array): Promise<Uint8Array> {
  const input = concatBytes(encoder.encode(label), new Uint8Array([0]), data);
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bufferSource(input)));
}

function groups(s: string, size: number): string {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.join(" ");
}

/** The meeting security code for an epoch, from its MLS epoch authenticator. */
export async function securityCode(epochAuthenticator: Uint8Array): Promise<string> {
  const h = await labelledHash("Kaigi security code v2", epochAuthenticator);
  const view = new DataView(h.buffer, h.byteOffset, 16);
  const n = ((view.getBigUint64(0) << 64n) | view.getBigUint64(8)) % SECURITY_CODE_MODULUS;
  return groups(n.toString().padStart(SECURITY_CODE_DIGITS, "0"), 5);
}

/** Digits in a security code. */
export const SECURITY_CODE_DIGITS = 30;
const SECURITY_CODE_MODULUS = 10n ** BigInt(SECURITY_CODE_DIGITS);

/** The fingerprint shown next to a participant's name. */
export async function fingerprint(signaturePublicKey: Uint8Array): Promise<string> {
  const h = await labelledHash("Kaigi fingerprint v1", signaturePublicKey);
  return groups(toHex(h.subarray(0, 10)), 4);
}
