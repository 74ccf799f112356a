// What people compare to know their meeting is private (design: "Security
// code", "Identity").
//
// Security code: 12 decimal digits in three groups of four, e.g.
// "0412 9937 5180". It is SHA-256("Kaigi security code v1" || 0x00 ||
// epoch_authenticator); the first 8 bytes as a big-endian integer, mod 10^12.
// The MLS epoch authenticator (RFC 9420 §8.7) is the same for every member
// of one epoch and unpredictable to anyone outside it, so equal codes mean
// the same group with the same members; the code changes with every commit
// (join, leave, removal). Reducing a 64-bit value mod 10^12 favours some codes
// by at most 10^12 / 2^64 ≈ 5·10^-8: nothing an attacker can use.
//
// Fingerprint: a member's Ed25519 signature public key as 20 hex digits in
// five groups of four, e.g. "3f2a 9c41 0b7e 55d2 e810": the first 80 bits of
// SHA-256("Kaigi fingerprint v1" || 0x00 || public key). Matching a given
// fingerprint with another key takes about 2^80 tries.

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
  const h = await labelledHash("Kaigi security code v1", epochAuthenticator);
  const n = new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0) % 10n ** 12n;
  return groups(n.toString().padStart(12, "0"), 4);
}

/** The fingerprint shown next to a participant's name. */
export async function fingerprint(signaturePublicKey: Uint8Array): Promise<string> {
  const h = await labelledHash("Kaigi fingerprint v1", signaturePublicKey);
  return groups(toHex(h.subarray(0, 10)), 4);
}
