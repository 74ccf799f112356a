// WebAuthn's options and answers as JSON (docs/api.md, "Passkeys"): the
// server sends the options for navigator.credentials.create and .get with
// binary values in base64url, and takes the answer back the same way.
// Browsers have PublicKeyCredential.parseCreationOptionsFromJSON and
// toJSON() for this, but not all of them yet; these do the same for the
// fields the server uses.

import { isObj, notUnderstood, type Obj } from "../api/http.js";

/** Decodes base64url (with or without padding). */
export function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s)) throw notUnderstood();
  const b64 = s.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Encodes bytes as base64url without padding. */
export function toBase64url(bytes: ArrayBuffer | ArrayBufferView): string {
  const b = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let bin = "";
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function publicKeyOf(options: unknown): Obj {
  if (!isObj(options) || !isObj(options.publicKey)) throw notUnderstood();
  return options.publicKey;
}

function b64Field(o: Obj, key: string): Uint8Array<ArrayBuffer> {
  const v = o[key];
  if (typeof v !== "string" || v === "") throw notUnderstood();
  return fromBase64url(v);
}

function descriptors(v: unknown): PublicKeyCredentialDescriptor[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw notUnderstood();
  return v.map((d: unknown) => {
    if (!isObj(d)) throw notUnderstood();
    const out: PublicKeyCredentialDescriptor = { type: "public-key", id: b64Field(d, "id") };
    if (Array.isArray(d.transports)) out.transports = d.transports.filter((t): t is AuthenticatorTransport => typeof t === "string");
    return out;
  });
}

/** The options for navigator.credentials.create from the server's {publicKey: ...}. */
export function creationOptions(options: unknown): PublicKeyCredentialCreationOptions {
  const pk = publicKeyOf(options);
  if (!isObj(pk.rp) || !isObj(pk.user) || !Array.isArray(pk.pubKeyCredParams)) throw notUnderstood();
  const user = pk.user;
  const out: PublicKeyCredentialCreationOptions = {
    rp: { name: typeof pk.rp.name === "string" ? pk.rp.name : "Kaigi", ...(typeof pk.rp.id === "string" ? { id: pk.rp.id } : {}) },
    user: { id: b64Field(user, "id"), name: typeof user.name === "string" ? user.name : "", displayName: typeof user.displayName === "string" ? user.displayName : "" },
    challenge: b64Field(pk, "challenge"),
    pubKeyCredParams: pk.pubKeyCredParams.filter(isObj).map((p) => ({ type: "public-key" as const, alg: typeof p.alg === "number" ? p.alg : -7 })),
  };
  if (typeof pk.timeout === "number") out.timeout = pk.timeout;
  const exclude = descriptors(pk.excludeCredentials);
  if (exclude) out.excludeCredentials = exclude;
  if (isObj(pk.authenticatorSelection)) out.authenticatorSelection = pk.authenticatorSelection as AuthenticatorSelectionCriteria;
  if (typeof pk.attestation === "string") out.attestation = pk.attestation as AttestationConveyancePreference;
  return out;
}

/** The options for navigator.credentials.get from the server's {publicKey: ...}. */
export function requestOptions(options: unknown): PublicKeyCredentialRequestOptions {
  const pk = publicKeyOf(options);
  const out: PublicKeyCredentialRequestOptions = { challenge: b64Field(pk, "challenge") };
  if (typeof pk.timeout === "number") out.timeout = pk.timeout;
  if (typeof pk.rpId === "string") out.rpId = pk.rpId;
  const allow = descriptors(pk.allowCredentials);
  if (allow) out.allowCredentials = allow;
  if (typeof pk.userVerification === "string") out.userVerification = pk.userVerification as UserVerificationRequirement;
  return out;
}

/** What of a PublicKeyCredential the page reads: the browser's, or a test's stand-in. */
export interface CredentialLike {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  authenticatorAttachment?: string | null;
  response: {
    clientDataJSON: ArrayBuffer;
    attestationObject?: ArrayBuffer;
    getTransports?: () => string[];
    authenticatorData?: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
  };
  getClientExtensionResults(): unknown;
}

/** A registration's or sign-in's answer as the JSON the server takes. */
export function credentialJSON(c: CredentialLike): Obj {
  const r = c.response;
  const response: Obj = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    if (typeof r.getTransports === "function") response.transports = r.getTransports();
  } else {
    if (!r.authenticatorData || !r.signature) throw notUnderstood();
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  const out: Obj = { id: c.id, rawId: toBase64url(c.rawId), type: c.type, response, clientExtensionResults: c.getClientExtensionResults() ?? {} };
  if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
  return out;
}
