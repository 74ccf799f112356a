// The audit log (docs/api.md): the whole log for administrators, the
// actions on one's own account for everyone.

import { call, isObj, list, obj, optStr, str, notUnderstood } from "./http.js";

export interface AuditEntry {
  seq: number;
  time: Date;
  actorKind: "user" | "operator" | "system";
  actorId?: string | undefined;
  action: string;
  subjectKind: "user" | "meeting" | "org" | "server";
  subjectId?: string | undefined;
  reason?: string | undefined;
  details: Record<string, string>;
  hash?: string | undefined;
}

export interface AuditPage {
  verified: boolean;
  head?: string | undefined;
  broken?: { seq: number; reason: string } | undefined;
  entries: AuditEntry[];
}

const actorKinds = ["user", "operator", "system"] as const;
const subjectKinds = ["user", "meeting", "org", "server"] as const;

function oneOf<T extends string>(v: unknown, allowed: readonly T[]): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) throw notUnderstood();
  return v as T;
}

/** Reads one entry as the server sends it; anything malformed is refused. */
export function parseAuditEntry(v: unknown): AuditEntry {
  const o = obj(v);
  const seq = o.seq;
  const time = new Date(str(o, "time"));
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1 || Number.isNaN(time.getTime())) throw notUnderstood();
  const details: Record<string, string> = {};
  if (o.details !== undefined) {
    if (!isObj(o.details)) throw notUnderstood();
    for (const [k, d] of Object.entries(o.details)) {
      if (typeof d !== "string") throw notUnderstood();
      details[k] = d;
    }
  }
  return {
    seq,
    time,
    actorKind: oneOf(o.actorKind, actorKinds),
    actorId: optStr(o, "actorId"),
    action: str(o, "action"),
    subjectKind: oneOf(o.subjectKind, subjectKinds),
    subjectId: optStr(o, "subjectId"),
    reason: optStr(o, "reason"),
    details,
    hash: optStr(o, "hash"),
  };
}

/** GET /api/admin/audit: the verdict and a page of entries, newest first. */
export async function getAuditLog(before?: number): Promise<AuditPage> {
  const o = obj(await call("GET", before === undefined ? "/api/admin/audit" : `/api/admin/audit?before=${before}`));
  let broken: AuditPage["broken"];
  if (isObj(o.broken)) {
    const seq = o.broken.seq;
    if (typeof seq !== "number") throw notUnderstood();
    broken = { seq, reason: str(o.broken, "reason") };
  }
  return { verified: o.verified === true, head: optStr(o, "head"), broken, entries: list(o, "entries").map(parseAuditEntry) };
}

/** GET /api/me/audit: administrative actions on one's own account. */
export async function getMyAudit(): Promise<AuditEntry[]> {
  return list(obj(await call("GET", "/api/me/audit")), "entries").map(parseAuditEntry);
}
