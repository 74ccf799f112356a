// GET /api/meetings/{id}/admission (docs/api.md): whether a host's ban
// keeps this browser, account or network out of a meeting, and whether a
// country rule refuses this address (with the sentence joining would give),
// asked before the pre-join page turns the camera on.

import { call, isObj, notUnderstood } from "./http.js";

/** The longest country refusal shown (the server's sentences are about 100 characters); a longer one is ignored. */
export const COUNTRY_REFUSAL_MAX = 300;

/** What the admission check said about this browser. */
export interface Admission {
  /** A ban keeps this browser (device ID), the signed-in account or, for a guest, this network out. */
  banned: boolean;
  /** The server's sentence when a country rule refuses this address, naming the rule; null otherwise. */
  countryNotAllowed: string | null;
}

/**
 * Reads the admission check's answer: `banned` must be a boolean (else the
 * answer is not understood); `countryNotAllowed` is kept only as a non-empty
 * string of at most COUNTRY_REFUSAL_MAX characters, and anything else there
 * is ignored (joining checks the rule again in any case).
 */
export function parseAdmission(v: unknown): Admission {
  if (!isObj(v) || typeof v.banned !== "boolean") throw notUnderstood();
  const c = v.countryNotAllowed;
  const refusal = typeof c === "string" ? c.trim() : "";
  return { banned: v.banned, countryNotAllowed: refusal !== "" && [...refusal].length <= COUNTRY_REFUSAL_MAX ? refusal : null };
}

/** Asks whether this browser (device ID `device`) may join the meeting. */
export async function admissionTo(meetingId: string, device: string): Promise<Admission> {
  return parseAdmission(await call("GET", `/api/meetings/${encodeURIComponent(meetingId)}/admission?device=${encodeURIComponent(device)}`));
}
