// A leaf's credential in a Kaigi MLS group (design: "Identity"): every
// KeyPackage gets a fresh leaf signing key, and the leaf's basic credential
// is a certificate for it from the device's long-term identity key
// (signing.ts): version byte 2, the device's Ed25519 public key, the
// account the device is signed in to (one length byte and up to 64 bytes
// of UTF-8; empty for a guest), and the device's signature over ("Kaigi
// leaf credential v2" || 0 || leaf signature public key || account length
// || account). mls.ts has every member check it for every leaf. The
// account a leaf speaks for is so the device's own signed word, which the
// server cannot change; whether that device really is the account's is
// what verification remembers (identity-store.ts).

import { equalBytes } from "./bytes.js";
import { E2EEError } from "./errors.js";
import { sign, verify, type SigningIdentity } from "./signing.js";

const CREDENTIAL_VERSION = 2;
const CREDENTIAL_LABEL = new TextEncoder().encode("Kaigi leaf credential v2\0");
/** The longest account ID a credential carries, in bytes of UTF-8. */
export const MAX_ACCOUNT_BYTES = 64;

/** Who a leaf credential says it is: a device, and the account it is signed in to ("" for a guest). */
export interface LeafCredential {
  device: Uint8Array;
  account: string;
}

function signedPart(leafKey: Uint8Array, account: Uint8Array): Uint8Array {
  const m = new Uint8Array(CREDENTIAL_LABEL.length + leafKey.length + 1 + account.length);
  m.set(CREDENTIAL_LABEL);
  m.set(leafKey, CREDENTIAL_LABEL.length);
  m[CREDENTIAL_LABEL.length + leafKey.length] = account.length;
  m.set(account, CREDENTIAL_LABEL.length + leafKey.length + 1);
  return m;
}

interface ParsedCredential extends LeafCredential {
  accountBytes: Uint8Array;
  signature: Uint8Array;
}

function parseCredentialBytes(identity: Uint8Array): ParsedCredential | null {
  if (identity.length < 1 + 32 + 1 + 64 || identity[0] !== CREDENTIAL_VERSION) return null;
  const n = identity[33]!;
  if (n > MAX_ACCOUNT_BYTES || identity.length !== 1 + 32 + 1 + n + 64) return null;
  const accountBytes = identity.slice(34, 34 + n);
  let account: string;
  try {
    account = new TextDecoder("utf-8", { fatal: true }).decode(accountBytes);
  } catch {
    return null;
  }
  return { device: identity.slice(1, 33), account, accountBytes, signature: identity.slice(34 + n) };
}

/** The device and account a leaf credential names, or null if it is not one of ours (signature unchecked). */
export function parseCredential(identity: Uint8Array): LeafCredential | null {
  const c = parseCredentialBytes(identity);
  return c ? { device: c.device, account: c.account } : null;
}

/** The device key a leaf credential names, or null. */
export function credentialDevice(identity: Uint8Array): Uint8Array | null {
  return parseCredential(identity)?.device ?? null;
}

export async function certifyLeaf(device: SigningIdentity, leafKey: Uint8Array, account: string): Promise<Uint8Array> {
  const accountBytes = new TextEncoder().encode(account);
  if (accountBytes.length > MAX_ACCOUNT_BYTES) throw new E2EEError("bad-request", "account ID too long for a credential");
  const sig = await sign(device.privateKey, signedPart(leafKey, accountBytes));
  const out = new Uint8Array(1 + 32 + 1 + accountBytes.length + 64);
  out[0] = CREDENTIAL_VERSION;
  out.set(device.publicKey, 1);
  out[33] = accountBytes.length;
  out.set(accountBytes, 34);
  out.set(sig, 34 + accountBytes.length);
  return out;
}

export async function leafCertified(identity: Uint8Array, leafKey: Uint8Array): Promise<boolean> {
  const c = parseCredentialBytes(identity);
  if (c === null) return false;
  // A device key is not a leaf key: reusing one would let a leaf's
  // signatures pass for the device's.
  if (equalBytes(c.device, leafKey)) return false;
  return verify(c.device, signedPart(leafKey, c.accountBytes), c.signature);
}
