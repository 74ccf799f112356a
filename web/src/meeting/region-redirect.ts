// Sending a participant to a node that may hold the meeting (issue 17,
// region policy). A node outside a meeting's regions refuses the join
// (region_not_allowed) and, in a cluster, names a live node inside them:
// the pre-join check's `regionRedirect` and the socket's `refused.redirect`.
// The client takes the participant there, to the same meeting link (path,
// query and the fragment that holds the link's secret) on that origin.
// Only an http(s) URL given by the server's own answer is ever followed,
// and only its origin: never a path, never another scheme.

import { inviteFragment, readInvite } from "../lib/invite.js";

/** The longest redirect URL read. */
const MAX_REDIRECT = 2048;

/**
 * The origin to send the participant to, from a server's redirect: an
 * http or https URL with a host and no user; its path, query and fragment
 * are dropped. Anything else (another scheme, a relative URL, not a
 * string) is null and is never followed.
 */
export function redirectOrigin(v: unknown): string | null {
  if (typeof v !== "string" || v === "" || v.length > MAX_REDIRECT) return null;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return null;
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "" || u.username !== "" || u.password !== "") return null;
  return u.origin;
}

/** Where the page is: the parts of its address that are kept. */
export interface Here {
  origin: string;
  pathname: string;
  search: string;
  hash: string;
}

/**
 * The address to go to: the same meeting link (path, query, fragment) on
 * origin `to` (from redirectOrigin). Null when `to` is not a valid origin,
 * or is this page's own (going there would only come back here).
 */
export function redirectTarget(to: unknown, here: Here): string | null {
  const origin = redirectOrigin(to);
  if (origin === null || origin === here.origin) return null;
  return origin + here.pathname + here.search + here.hash;
}

/**
 * The one line telling why the page moves: where the meeting is kept
 * (its regions, when known) and to which host.
 */
export function redirectLine(regions: readonly string[] | null, target: string): string {
  const host = new URL(target).host;
  const where = regions === null || regions.length === 0 ? "another region" : `region ${regions.join(", ")}`;
  return `This meeting is kept in ${where}; taking you to ${host}.`;
}

/**
 * The fragment to carry to the other node from within a meeting's
 * session: the address bar's (whose passcode the pre-join page took
 * out) with the passcode the session joins with put back, so the other
 * node does not ask for it again.
 */
export function fragmentWithPasscode(hash: string, passcode: string | undefined): string {
  const invite = readInvite(hash);
  if (passcode !== undefined && passcode !== "") invite.passcode = passcode;
  return inviteFragment(invite);
}
