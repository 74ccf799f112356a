// A member's long-term Ed25519 signing identity (design: "Identity").
//
// Where the browser has Ed25519 in WebCrypto (Chrome 137+, Firefox 129+,
// Safari 17+, node 20), the private key is a non-extractable CryptoKey:
// script can sign with it but never read it, and IndexedDB stores it as an
// opaque key. Older browsers get the same algorithm from @noble/curves; the
// private key is then a 32-byte seed held in JavaScript memory and stored
// as bytes in IndexedDB (the best such a browser allows).

import { ed25519 } from "@noble/curves/ed25519.js";
import { bufferSource } from "./bytes.js";

export interface SigningIdentity {
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** A non-extractable WebCrypto key, or the 32-byte seed where WebCrypto lacks Ed25519. */
  readonly privateKey: CryptoKey | Uint8Array;
}

let webCryptoSupport: Promise<boolean> | undefined;

/** Whether WebCrypto here does Ed25519 (probed once). */
export function webCryptoHasEd25519(): Promise<boolean> {
  webCryptoSupport ??= (async () => {
    try {
      const pair = (await globalThis.crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
      await globalThis.crypto.subtle.sign("Ed25519", pair.privateKey, new Uint8Array(1));
      return true;
    } catch {
      return false;
    }
  })();
  return webCryptoSupport;
}

/** A fresh identity; `webCrypto: false` forces the seed form (tests). */
export async function generateSigningIdentity(opts: { webCrypto?: boolean } = {}): Promise<SigningIdentity> {
  if (opts.webCrypto ?? (await webCryptoHasEd25519())) {
    const pair = (await globalThis.crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await globalThis.crypto.subtle.exportKey("raw", pair.publicKey));
    return { publicKey, privateKey: pair.privateKey };
  }
  const seed = ed25519.utils.randomSecretKey();
  return { publicKey: ed25519.getPublicKey(seed), privateKey: seed };
}

export async function sign(privateKey: CryptoKey | Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  if (privateKey instanceof Uint8Array) return ed25519.sign(message, privateKey);
  return new Uint8Array(await globalThis.crypto.subtle.sign("Ed25519", privateKey, bufferSource(message)));
}

/** Verifies an Ed25519 signature; false (never a throw) for malformed keys or signatures. */
export async function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    if (await webCryptoHasEd25519()) {
      const key = await globalThis.crypto.subtle.importKey("raw", bufferSource(publicKey), "Ed25519", false, ["verify"]);
      return await globalThis.crypto.subtle.verify("Ed25519", key, bufferSource(signature), bufferSource(message));
    }
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
