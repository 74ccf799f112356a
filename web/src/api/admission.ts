// GET /api/meetings/{id}/admission (docs/api.md): whether a host's ban
// keeps this browser, account or network out of a meeting, asked before the
// pre-join page turns the camera on.

import { call, notUnderstood, obj } from "./http.js";

/** True when a ban keeps this browser (device ID), the signed-in account or, for a guest, this network out. */
export async function bannedFrom(meetingId: string, device: string): Promise<boolean> {
  const o = obj(await call("GET", `/api/meetings/${encodeURIComponent(meetingId)}/admission?device=${encodeURIComponent(device)}`));
  if (typeof o.banned !== "boolean") throw notUnderstood();
  return o.banned;
}
