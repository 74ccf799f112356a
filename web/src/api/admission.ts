// GET /api/meetings/{id}/admission (docs/api.md): whether a host's ban
// keeps this browser, account or network out of a meeting, whether a
// country rule refuses this address (with the sentence joining would give),
// and where the meeting may be held, asked before the pre-join page turns
// the camera on.

import { MAX_REGIONS, REGION_LABEL } from "../meeting/settings.js";
import { redirectOrigin } from "../meeting/region-redirect.js";
import { call, isObj, notUnderstood } from "./http.js";

/** The longest country refusal shown (the server's sentences are about 100 characters); a longer one is ignored. */
export const COUNTRY_REFUSAL_MAX = 300;

/** What the admission check said about this browser. */
export interface Admission {
  /** A ban keeps this browser (device ID), the signed-in account or, for a guest, this network out. */
  banned: boolean;
  /** The server's sentence when a country rule refuses this address, naming the rule; null otherwise. */
  countryNotAllowed: string | null;
  /** Where the meeting may be held, when the organisation or the meeting names regions; null otherwise. */
  regions: string[] | null;
  /** The server's sentence when this server is outside those regions; null otherwise. */
  regionNotAllowed: string | null;
  /** With regionNotAllowed, the origin of a node inside those regions to go to (region-redirect.ts); null otherwise. */
  regionRedirect: string | null;
}


/** A sentence of the server's, or null when it is no bounded, non-empty string. */
function sentence(v: unknown): string | null {
  const t = typeof v === "string" ? v.trim() : "";
  return t !== "" && [...t].length <= COUNTRY_REFUSAL_MAX ? t : null;
}

/** A set of region labels, or null when it is not one (then nothing is shown about regions). */
function regionList(v: unknown): string[] | null {
  if (!Array.isArray(v) || v.length > MAX_REGIONS) return null;
  return v.every((r) => typeof r === "string" && REGION_LABEL.test(r)) ? (v as string[]) : null;
}

/**
 * Reads the admission check's answer: `banned` must be a boolean (else the
 * answer is not understood); `countryNotAllowed` and `regionNotAllowed`
 * are kept only as non-empty strings of at most COUNTRY_REFUSAL_MAX
 * characters, `regions` only as a list of region labels, and anything else
 * there is ignored (joining checks the rules again in any case).
 */
export function parseAdmission(v: unknown): Admission {
  if (!isObj(v) || typeof v.banned !== "boolean") throw notUnderstood();
  return {
    banned: v.banned,
    countryNotAllowed: sentence(v.countryNotAllowed),
    regions: regionList(v.regions),
    regionNotAllowed: sentence(v.regionNotAllowed),
    regionRedirect: sentence(v.regionNotAllowed) === null ? null : redirectOrigin(v.regionRedirect),
  };
}

/** Asks whether this browser (device ID `device`) may join the meeting. */
export async function admissionTo(meetingId: string, device: string): Promise<Admission> {
  return parseAdmission(await call("GET", `/api/meetings/${encodeURIComponent(meetingId)}/admission?device=${encodeURIComponent(device)}`));
}
