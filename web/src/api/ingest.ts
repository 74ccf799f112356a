// WHIP ingest and WHEP egress tokens (docs/api.md, "WHIP ingest" and
// "WHEP egress"): a meeting's owner (or a host or co-host of the running
// meeting) makes one for a streaming program
// (OBS, GStreamer) to publish into the meeting, or to watch it, at its
// URL. The token is in the answer that makes it, and never again;
// revoking it ends the program's session.

import { call, list, obj, optStr, str } from "./http.js";

export interface IngestToken {
  id: string;
  name: string;
  /** Where the program POSTs its offer (the WHIP or WHEP endpoint). */
  url: string;
  createdAt: string;
  lastUsed?: string;
  /** The meeting's owner made it (else a host or co-host, whose token outlives their role). */
  byOwner: boolean;
  /** Only in the answer that made it. */
  token?: string;
}

/** Which tokens: "ingest" streams in (WHIP), "egress" watches (WHEP). */
export type TokenKind = "ingest" | "egress";

function parseIngestToken(v: unknown): IngestToken {
  const o = obj(v);
  const t: IngestToken = { id: str(o, "id"), name: str(o, "name"), url: str(o, "url"), createdAt: str(o, "createdAt"), byOwner: o.byOwner === true };
  const used = optStr(o, "lastUsed");
  if (used !== undefined) t.lastUsed = used;
  const token = optStr(o, "token");
  if (token !== undefined) t.token = token;
  return t;
}

const base = (meetingId: string, kind: TokenKind): string => `/api/meetings/${encodeURIComponent(meetingId)}/${kind}`;

/** The meeting's tokens of a kind, and whether its settings let such programs in now. */
export async function listTokens(meetingId: string, kind: TokenKind): Promise<{ tokens: IngestToken[]; allowed: boolean }> {
  const o = obj(await call("GET", base(meetingId, kind)));
  return { tokens: list(o, "tokens").map(parseIngestToken), allowed: o.allowed === true };
}

export async function createToken(meetingId: string, kind: TokenKind, name: string): Promise<IngestToken> {
  return parseIngestToken(await call("POST", base(meetingId, kind), { name }));
}

export async function revokeToken(meetingId: string, kind: TokenKind, id: string): Promise<void> {
  await call("DELETE", `${base(meetingId, kind)}/${encodeURIComponent(id)}`);
}
