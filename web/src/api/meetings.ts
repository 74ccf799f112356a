// Meetings (docs/api.md, "Meetings").

import { parseSettings, type Settings } from "../meeting/settings.js";
import { ApiError, call, list, notUnderstood, obj, optStr, str } from "./http.js";

export type MeetingKind = "instant" | "scheduled" | "personal";

/** A meeting as the API shows it: the public view, plus the owner's fields when `owner`. */
export interface Meeting {
  id: string;
  kind: MeetingKind;
  title: string;
  startsAt?: string;
  durationMinutes?: number;
  /** The owner's display name. */
  host: string;
  /** End-to-end encrypted. */
  e2ee: boolean;
  needsPasscode: boolean;
  requireSignIn: boolean;
  /** The join URL without the passcode. */
  url: string;
  owner: boolean;
  // The owner's view only:
  settings?: Settings;
  passcode?: string;
  /** The join URL with the passcode in the fragment. */
  inviteUrl?: string;
}

/** Links the page shows and follows are web addresses, never javascript: or the like. */
function webUrl(v: string): string {
  if (!/^https?:\/\//i.test(v)) throw notUnderstood();
  return v;
}

export function parseMeeting(v: unknown): Meeting {
  const o = obj(v);
  const kind = o.kind === "scheduled" || o.kind === "personal" ? o.kind : "instant";
  const m: Meeting = {
    id: str(o, "id"),
    kind,
    title: optStr(o, "title") ?? "",
    host: optStr(o, "host") ?? "",
    e2ee: o.e2ee === true,
    needsPasscode: o.needsPasscode === true,
    requireSignIn: o.requireSignIn === true,
    url: webUrl(str(o, "url")),
    owner: o.owner === true,
  };
  const startsAt = optStr(o, "startsAt");
  if (startsAt) m.startsAt = startsAt;
  if (typeof o.durationMinutes === "number") m.durationMinutes = o.durationMinutes;
  const settings = parseSettings(o.settings);
  if (settings) m.settings = settings;
  const passcode = optStr(o, "passcode");
  if (passcode) m.passcode = passcode;
  const invite = optStr(o, "inviteUrl");
  if (invite) m.inviteUrl = webUrl(invite);
  return m;
}

export interface MeetingRequest {
  kind?: "instant" | "scheduled";
  title?: string;
  /** RFC 3339. */
  startsAt?: string;
  durationMinutes?: number;
  settings?: Settings;
  /** PATCH only: replace the passcode. */
  newPasscode?: boolean;
}

/** POST /api/meetings: a new meeting, owner view. */
export async function createMeeting(req: MeetingRequest = {}): Promise<Meeting> {
  return parseMeeting(await call("POST", "/api/meetings", req));
}

/** GET /api/meetings: the account's meetings, its personal room first. */
export async function listMeetings(): Promise<Meeting[]> {
  return list(obj(await call("GET", "/api/meetings")), "meetings").map(parseMeeting);
}

/** GET /api/meetings/{id}: what the join screen needs (the owner sees more). */
export async function lookupMeeting(id: string): Promise<Meeting> {
  try {
    return parseMeeting(await call("GET", `/api/meetings/${encodeURIComponent(id)}`));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      throw new ApiError("meeting_not_found", e.code === "meeting_not_found" ? e.message : "There is no meeting at this link. Check the link, or ask the host for a new one.", 404);
    }
    throw e;
  }
}

export async function updateMeeting(id: string, req: MeetingRequest): Promise<Meeting> {
  return parseMeeting(await call("PATCH", `/api/meetings/${encodeURIComponent(id)}`, req));
}

export async function deleteMeeting(id: string): Promise<void> {
  await call("DELETE", `/api/meetings/${encodeURIComponent(id)}`);
}
