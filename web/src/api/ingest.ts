// WHIP ingest tokens (docs/api.md, "WHIP ingest"): a meeting's owner
// makes one for a streaming program (OBS, GStreamer) to publish into the
// meeting at its URL. The token is in the answer that makes it, and never
// again; revoking it ends the program's session.

import { call, list, obj, optStr, str } from "./http.js";

export interface IngestToken {
  id: string;
  name: string;
  /** Where the program POSTs its offer (the WHIP endpoint). */
  url: string;
  createdAt: string;
  lastUsed?: string;
  /** Only in the answer that made it. */
  token?: string;
}

function parseIngestToken(v: unknown): IngestToken {
  const o = obj(v);
  const t: IngestToken = { id: str(o, "id"), name: str(o, "name"), url: str(o, "url"), createdAt: str(o, "createdAt") };
  const used = optStr(o, "lastUsed");
  if (used !== undefined) t.lastUsed = used;
  const token = optStr(o, "token");
  if (token !== undefined) t.token = token;
  return t;
}

const base = (meetingId: string): string => `/api/meetings/${encodeURIComponent(meetingId)}/ingest`;

/** The meeting's tokens, and whether its settings let sources in now. */
export async function listIngestTokens(meetingId: string): Promise<{ tokens: IngestToken[]; allowed: boolean }> {
  const o = obj(await call("GET", base(meetingId)));
  return { tokens: list(o, "tokens").map(parseIngestToken), allowed: o.allowed === true };
}

export async function createIngestToken(meetingId: string, name: string): Promise<IngestToken> {
  return parseIngestToken(await call("POST", base(meetingId), { name }));
}

export async function revokeIngestToken(meetingId: string, id: string): Promise<void> {
  await call("DELETE", `${base(meetingId)}/${encodeURIComponent(id)}`);
}
