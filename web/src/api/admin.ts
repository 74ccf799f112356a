// Administration (docs/api.md, "Administration"): admins only.

import { COUNTRY_OFF, PRODUCT_DEFAULTS, REGION_LABEL, parseCountryRule, parseRegions, parseSettings, type CountryRule, type Settings } from "../meeting/settings.js";
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
  /** The only regions meetings are held in ([]: anywhere). */
  regions: string[];
  /** This server's region label ("" for none). Read-only. */
  region?: string;
  /** Every account must have a passkey (api/passkeys.ts). */
  requirePasskeys?: boolean;
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
    regions: parseRegions(o.regions),
    region: typeof o.region === "string" && REGION_LABEL.test(o.region) ? o.region : "",
    requirePasskeys: o.requirePasskeys === true,
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
  /** Nobody new may join (a host's lock or an administrator's). */
  locked: boolean;
}

export async function listLiveMeetings(): Promise<LiveMeeting[]> {
  return list(obj(await call("GET", "/api/admin/meetings/live")), "meetings").map((v) => {
    const o = obj(v);
    const n = (k: string): number => (typeof o[k] === "number" ? (o[k] as number) : 0);
    return { id: str(o, "id"), title: str(o, "title"), ownerId: typeof o.ownerId === "string" ? o.ownerId : undefined, participants: n("participants"), waiting: n("waiting"), breakoutRooms: n("breakoutRooms"), locked: o.locked === true };
  });
}

/** POST /api/admin/meetings/{id}/end: everyone in it is taken out and told the reason. */
export async function endLiveMeeting(id: string, reason: string): Promise<void> {
  await call("POST", `/api/admin/meetings/${encodeURIComponent(id)}/end`, { reason });
}

/** POST /api/admin/meetings/{id}/lock: locks or unlocks it, live or not; everyone in it is told the reason. Whether it was live. */
export async function lockMeeting(id: string, locked: boolean, reason: string): Promise<{ live: boolean }> {
  const o = obj(await call("POST", `/api/admin/meetings/${encodeURIComponent(id)}/lock`, { locked, reason }));
  return { live: o.live === true };
}

/** One day or week of the usage figures (GET /api/admin/usage): totals over the whole server. */
export interface UsageBucket {
  start: string;
  end: string;
  meetings: number;
  participants: number;
  participantMinutes: number;
  meetingMinutes: number;
  peakParticipants: number;
}

export type UsageBy = "day" | "week";

export interface Usage {
  from: string;
  to: string;
  by: UsageBy;
  buckets: UsageBucket[];
  totals: UsageBucket;
}

const usageDate = /^\d{4}-\d{2}-\d{2}$/;

function parseUsageBucket(v: unknown): UsageBucket {
  const o = obj(v);
  const n = (k: string): number => {
    const x = o[k];
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) throw notUnderstood();
    return x;
  };
  const start = str(o, "start");
  const end = str(o, "end");
  if (!usageDate.test(start) || !usageDate.test(end) || end < start) throw notUnderstood();
  return { start, end, meetings: n("meetings"), participants: n("participants"), participantMinutes: n("participantMinutes"), meetingMinutes: n("meetingMinutes"), peakParticipants: n("peakParticipants") };
}

/** Reads the usage figures strictly: anything malformed is refused, not drawn half. */
export function parseUsage(v: unknown): Usage {
  const o = obj(v);
  const by = o.by;
  if (by !== "day" && by !== "week") throw notUnderstood();
  const from = str(o, "from");
  const to = str(o, "to");
  if (!usageDate.test(from) || !usageDate.test(to) || to < from) throw notUnderstood();
  const buckets = list(o, "buckets").map(parseUsageBucket);
  if (buckets.length > 366) throw notUnderstood();
  for (let i = 1; i < buckets.length; i++) {
    if ((buckets[i]?.start ?? "") <= (buckets[i - 1]?.end ?? "")) throw notUnderstood();
  }
  return { from, to, by, buckets, totals: parseUsageBucket(o.totals) };
}

/** GET /api/admin/usage: the figures of the days from..to (YYYY-MM-DD, UTC), by day or ISO week. */
export async function getUsage(from: string, to: string, by: UsageBy): Promise<Usage> {
  const q = new URLSearchParams({ from, to, by });
  return parseUsage(await call("GET", `/api/admin/usage?${q.toString()}`));
}
