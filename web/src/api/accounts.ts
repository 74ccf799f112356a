// Accounts and two-factor authentication (docs/api.md, "Accounts").

import { REGION_LABEL, parseCountryRule, parseRegions, parseSettings, type CountryRule, type Settings } from "../meeting/settings.js";
import { ApiError, call, isObj, list, obj, str, type Obj } from "./http.js";

export interface User {
  id: string;
  email: string;
  name: string;
  role: "admin" | "member";
  twoFactor: boolean;
  /** Only for the signed-in user with two-factor on. */
  recoveryCodesLeft?: number;
  /** Set while an administrator or the operator has the account suspended. */
  suspended?: { at: string; reason: string };
  /** How many passkeys the account has (in the administrator's list). */
  passkeys?: number;
}

export interface Me {
  user: User;
  /** country and geoip: the organisation's country rule, and whether the server can apply one (a GeoIP database). */
  organisation: { name: string; require2FA: boolean; requirePasskeys?: boolean; meetingDefaults: Settings | null; country?: CountryRule | undefined; geoip: boolean; regions: string[]; region: string };
  /** The organisation requires two-factor and this account has none yet: it must enrol before anything else. */
  twoFactorRequired: boolean;
  /** How many passkeys the account has (api/passkeys.ts). */
  passkeys: number;
  /** The organisation requires passkeys and this account has none yet: it must register one before anything else. */
  passkeyRequired: boolean;
  /** Made by single sign-on: no one knows its password, and the steps that ask for it take a recent re-authentication instead (ui/reauth-prompt.ts). */
  noPassword?: boolean;
}

export function parseUser(v: unknown): User {
  const o = obj(v);
  const u: User = {
    id: str(o, "id"),
    email: str(o, "email"),
    name: str(o, "name"),
    role: o.role === "admin" ? "admin" : "member",
    twoFactor: o.twoFactor === true,
  };
  if (typeof o.recoveryCodesLeft === "number") u.recoveryCodesLeft = o.recoveryCodesLeft;
  if (typeof o.passkeys === "number") u.passkeys = o.passkeys;
  if (isObj(o.suspended)) u.suspended = { at: str(o.suspended, "at"), reason: str(o.suspended, "reason") };
  return u;
}

function userOf(body: unknown): User {
  return parseUser(obj(body).user);
}

/** GET /api/me: the signed-in account, or null when nobody is signed in. */
export async function me(): Promise<Me | null> {
  let body: unknown;
  try {
    body = await call("GET", "/api/me");
  } catch (e) {
    if (e instanceof ApiError && e.code === "not_signed_in") return null;
    throw e;
  }
  const o = obj(body);
  const org: Obj = isObj(o.organisation) ? o.organisation : {};
  return {
    user: parseUser(o.user),
    organisation: {
      name: typeof org.name === "string" ? org.name : "",
      require2FA: org.require2FA === true,
      meetingDefaults: parseSettings(org.meetingDefaults),
      country: parseCountryRule(org.country) ?? undefined,
      geoip: org.geoip === true,
      regions: parseRegions(org.regions),
      region: typeof org.region === "string" && REGION_LABEL.test(org.region) ? org.region : "",
      requirePasskeys: org.requirePasskeys === true,
    },
    twoFactorRequired: o.twoFactorRequired === true,
    passkeys: typeof o.passkeys === "number" ? o.passkeys : 0,
    passkeyRequired: o.passkeyRequired === true,
    noPassword: o.noPassword === true,
  };
}

/** passkey: the account has a passkey for the second step; totp: it has an authenticator app's codes. */
export type SignInResult = { user: User } | { challenge: string; passkey: boolean; totp: boolean };

/** POST /api/auth/signin: signed in, or a challenge for the second step. */
export async function signIn(email: string, password: string): Promise<SignInResult> {
  const o = obj(await call("POST", "/api/auth/signin", { email, password }));
  if (o.next === "code") return { challenge: str(o, "challenge"), passkey: o.passkey === true, totp: o.totp !== false };
  return { user: parseUser(o.user) };
}

/** POST /api/auth/signin/code: the TOTP code or a recovery code. */
export async function signInCode(challenge: string, code: string): Promise<User> {
  return userOf(await call("POST", "/api/auth/signin/code", { challenge, code }));
}

export async function signUp(email: string, name: string, password: string): Promise<User> {
  return userOf(await call("POST", "/api/auth/signup", { email, name, password }));
}

export async function signOut(): Promise<void> {
  await call("POST", "/api/auth/signout");
}

export async function signOutEverywhere(): Promise<void> {
  await call("POST", "/api/auth/signout-everywhere");
}

export interface Enrollment {
  /** Base32, for typing into an authenticator app. */
  secret: string;
  /** The otpauth:// URL the QR code holds. */
  url: string;
  /** A data:image/png URL, rendered by the server. */
  qr: string;
}

export async function beginTwoFactor(): Promise<Enrollment> {
  const o = obj(await call("POST", "/api/me/2fa/begin"));
  const qr = str(o, "qr");
  // Only an image the server drew, never a link elsewhere.
  if (!qr.startsWith("data:image/png;base64,")) throw new ApiError("unavailable", "The server's QR code was not understood.", 200);
  return { secret: str(o, "secret"), url: str(o, "url"), qr };
}

function codesOf(body: unknown): string[] {
  return list(obj(body), "recoveryCodes").filter((c): c is string => typeof c === "string");
}

/** Turns two-factor on; returns the recovery codes, shown this once. */
export async function confirmTwoFactor(code: string): Promise<string[]> {
  return codesOf(await call("POST", "/api/me/2fa/confirm", { code }));
}

export async function disableTwoFactor(password: string, code: string): Promise<void> {
  await call("POST", "/api/me/2fa/disable", { password, code });
}

export async function regenerateRecoveryCodes(password: string, code: string): Promise<string[]> {
  return codesOf(await call("POST", "/api/me/2fa/recovery-codes", { password, code }));
}

/** POST /api/me/delete: deletes the signed-in account (password, and a code with two-factor on). */
export async function deleteMyAccount(password: string, code: string): Promise<void> {
  await call("POST", "/api/me/delete", { password, code });
}
