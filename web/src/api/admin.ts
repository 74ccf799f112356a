// Administration (docs/api.md, "Administration"): admins only.

import { COUNTRY_OFF, PRODUCT_DEFAULTS, parseCountryRule, parseSettings, type CountryRule, type Settings } from "../meeting/settings.js";
import { parseUser, type User } from "./accounts.js";
import { call, list, notUnderstood, obj, str } from "./http.js";

export interface Org {
  name: string;
  require2FA: boolean;
  allowSignUp: boolean;
  meetingDefaults: Settings;
  /** The organisation's country rule (off: mode ""). */
  country: CountryRule;
  /** Whether the server has a GeoIP database; without one no country rule can be set. Read-only. */
  geoip?: boolean;
  /** How long old records are kept; absent from an older server. */
  retention?: Retention | undefined;
}

/** Days each kind of old record is kept (0: forever); auditMinimumDays is the server's legal minimum, read only. */
export interface Retention {
  meetingDays: number;
  auditDays: number;
  expiredSessionDays: number;
  auditMinimumDays: number;
}

function parseRetention(v: unknown): Retention | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v);
  const n = (k: string): number => {
    const x = o[k];
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) throw notUnderstood();
    return x;
  };
  return { meetingDays: n("meetingDays"), auditDays: n("auditDays"), expiredSessionDays: n("expiredSessionDays"), auditMinimumDays: n("auditMinimumDays") };
}

function parseOrg(v: unknown): Org {
  const o = obj(v);
  return {
    name: str(o, "name"),
    require2FA: o.require2FA === true,
    allowSignUp: o.allowSignUp === true,
    meetingDefaults: parseSettings(o.meetingDefaults) ?? { ...PRODUCT_DEFAULTS },
    country: parseCountryRule(o.country) ?? { ...COUNTRY_OFF },
    geoip: o.geoip === true,
    retention: parseRetention(o.retention),
  };
}

export async function getOrg(): Promise<Org> {
  return parseOrg(await call("GET", "/api/admin/org"));
}

/** PUT /api/admin/org: the whole object; returns what was saved. */
export async function saveOrg(org: Org): Promise<Org> {
  return parseOrg(await call("PUT", "/api/admin/org", org));
}

export async function listUsers(): Promise<User[]> {
  return list(obj(await call("GET", "/api/admin/users")), "users").map(parseUser);
}

export interface NewUser {
  email: string;
  name: string;
  password: string;
  role: "admin" | "member";
}

export async function createUser(u: NewUser): Promise<User> {
  return parseUser(obj(await call("POST", "/api/admin/users", u)).user);
}

/** What an administrator can do to someone else's account; each is audited with its reason. */
export type UserAction = "suspend" | "reinstate" | "reset-2fa" | "delete";

/** POST /api/admin/users/{id}/{action}: the account as it is now (null once deleted). */
export async function actOnUser(id: string, action: UserAction, reason: string): Promise<User | null> {
  const body = await call("POST", `/api/admin/users/${encodeURIComponent(id)}/${action}`, { reason });
  return action === "delete" ? null : parseUser(obj(body).user);
}

/** A meeting in progress as an administrator sees it: counts, never who or what. */
export interface LiveMeeting {
  id: string;
  title: string;
  ownerId?: string | undefined;
  participants: number;
  waiting: number;
  breakoutRooms: number;
}

export async function listLiveMeetings(): Promise<LiveMeeting[]> {
  return list(obj(await call("GET", "/api/admin/meetings/live")), "meetings").map((v) => {
    const o = obj(v);
    const n = (k: string): number => (typeof o[k] === "number" ? (o[k] as number) : 0);
    return { id: str(o, "id"), title: str(o, "title"), ownerId: typeof o.ownerId === "string" ? o.ownerId : undefined, participants: n("participants"), waiting: n("waiting"), breakoutRooms: n("breakoutRooms") };
  });
}

/** POST /api/admin/meetings/{id}/end: everyone in it is taken out and told the reason. */
export async function endLiveMeeting(id: string, reason: string): Promise<void> {
  await call("POST", `/api/admin/meetings/${encodeURIComponent(id)}/end`, { reason });
}
