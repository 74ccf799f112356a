// Passkeys (docs/api.md, "Passkeys"): registering and managing them, and
// signing in with one alone or as the second step. Each ceremony is two
// requests around the browser's own dialog: begin (the server's options
// and a flow token), the browser's navigator.credentials.create or .get,
// and finish (the answer with the flow token).

import { creationOptions, credentialJSON, requestOptions, type CredentialLike } from "../lib/webauthn-json.js";
import { parseUser, type User } from "./accounts.js";
import { ApiError, call, list, obj, str } from "./http.js";

export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string;
}

/** Whether this browser can use passkeys at all. */
export function passkeysSupported(): boolean {
  return typeof window !== "undefined" && typeof window.PublicKeyCredential === "function" && typeof navigator.credentials?.get === "function";
}

function ceremony(body: unknown): { flow: string; options: unknown } {
  const o = obj(body);
  return { flow: str(o, "flow"), options: o.options };
}

/** Errors of the browser's passkey dialog, in words (cancelled, timed out, refused). */
function dialogError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const name = e instanceof DOMException ? e.name : "";
  if (name === "NotAllowedError" || name === "AbortError") return new ApiError("passkey_cancelled", "The passkey dialog was closed or timed out. Try again.", 0);
  if (name === "InvalidStateError") return new ApiError("passkey_registered", "This device holds a passkey for your account already.", 0);
  if (name === "SecurityError") return new ApiError("passkey_origin", "This page's address cannot use passkeys (the server's public address must be a domain name).", 0);
  return new ApiError("passkey_failed", "The passkey could not be used in this browser.", 0);
}

async function create(options: unknown): Promise<CredentialLike> {
  try {
    const c = await navigator.credentials.create({ publicKey: creationOptions(options) });
    if (c === null) throw new ApiError("passkey_cancelled", "No passkey was made.", 0);
    return c as unknown as CredentialLike;
  } catch (e) {
    throw dialogError(e);
  }
}

async function get(options: unknown, signal?: AbortSignal, conditional = false): Promise<CredentialLike> {
  try {
    const req: CredentialRequestOptions = { publicKey: requestOptions(options) };
    if (signal) req.signal = signal;
    if (conditional) req.mediation = "conditional";
    const c = await navigator.credentials.get(req);
    if (c === null) throw new ApiError("passkey_cancelled", "No passkey was chosen.", 0);
    return c as unknown as CredentialLike;
  } catch (e) {
    throw dialogError(e);
  }
}

export function parsePasskey(v: unknown): Passkey {
  const o = obj(v);
  const p: Passkey = { id: str(o, "id"), name: str(o, "name"), createdAt: str(o, "createdAt") };
  if (typeof o.lastUsedAt === "string") p.lastUsedAt = o.lastUsedAt;
  return p;
}

/** GET /api/me/passkeys: the account's passkeys, and whether this server can bind passkeys at all. */
export async function listPasskeys(): Promise<{ passkeys: Passkey[]; available: boolean }> {
  const o = obj(await call("GET", "/api/me/passkeys"));
  return { passkeys: list(o, "passkeys").map(parsePasskey), available: o.available === true };
}

/** Registers a passkey (after the password, and a code with TOTP on); returns it and, for the account's first second factor, its recovery codes. */
export async function registerPasskey(password: string, code: string, name: string): Promise<{ passkey: Passkey; recoveryCodes: string[] | null }> {
  const begun = ceremony(await call("POST", "/api/me/passkeys/begin", { password, code }));
  const cred = await create(begun.options);
  const o = obj(await call("POST", "/api/me/passkeys/finish", { flow: begun.flow, name, credential: credentialJSON(cred) }));
  const codes = Array.isArray(o.recoveryCodes) ? o.recoveryCodes.filter((c): c is string => typeof c === "string") : null;
  return { passkey: parsePasskey(o.passkey), recoveryCodes: codes };
}

export async function renamePasskey(id: string, name: string): Promise<void> {
  await call("PATCH", `/api/me/passkeys/${encodeURIComponent(id)}`, { name });
}

export async function deletePasskey(id: string, password: string, code: string): Promise<void> {
  await call("POST", `/api/me/passkeys/${encodeURIComponent(id)}/delete`, { password, code });
}

/** Signs in with a passkey alone (the browser offers the ones it holds for this server). With conditional, the browser offers them in the e-mail field's autofill instead of a dialog. */
export async function signInWithPasskey(signal?: AbortSignal, conditional = false): Promise<User> {
  const begun = ceremony(await call("POST", "/api/auth/passkey/begin", {}));
  const cred = await get(begun.options, signal, conditional);
  return parseUser(obj(await call("POST", "/api/auth/passkey/finish", { flow: begun.flow, credential: credentialJSON(cred) })).user);
}

/** The second step of a sign-in (its challenge) with one of the account's passkeys. */
export async function secondFactorWithPasskey(challenge: string): Promise<User> {
  const begun = ceremony(await call("POST", "/api/auth/signin/passkey/begin", { challenge }));
  const cred = await get(begun.options);
  return parseUser(obj(await call("POST", "/api/auth/signin/passkey/finish", { challenge, flow: begun.flow, credential: credentialJSON(cred) })).user);
}

/** Re-authenticates this session with one of the account's passkeys (docs/api.md, "Re-authentication"); resolves with when the window closes. */
export async function reauthWithPasskey(): Promise<string | null> {
  const begun = ceremony(await call("POST", "/api/auth/reauth/passkey/begin", {}));
  const cred = await get(begun.options);
  const until = obj(await call("POST", "/api/auth/reauth/passkey/finish", { flow: begun.flow, credential: credentialJSON(cred) })).until;
  return typeof until === "string" ? until : null;
}
