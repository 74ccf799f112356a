// The public transparency report (docs/api.md, GET /api/transparency):
// counts of the audit log by action and month, every category listed.

import { call, isObj, list, obj, str, notUnderstood } from "./http.js";

export interface TransparencyCategory {
  action: string;
  description: string;
  total: number;
}

export interface TransparencyMonth {
  month: string;
  counts: Record<string, number>;
  legal: Record<string, number>;
}

export interface Transparency {
  organisation: string;
  generatedAt: string;
  verified: boolean;
  head?: string | undefined;
  brokenAt?: number | undefined;
  entries: number;
  /** The oldest entry stored and its time, when retention deleted older ones (or any entries exist). */
  first?: number | undefined;
  since?: string | undefined;
  categories: TransparencyCategory[];
  months: TransparencyMonth[];
}

function counts(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (v === undefined) return out;
  if (!isObj(v)) throw notUnderstood();
  for (const [k, n] of Object.entries(v)) {
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw notUnderstood();
    out[k] = n;
  }
  return out;
}

/** Reads the report as the server sends it; anything malformed is refused. */
export function parseTransparency(v: unknown): Transparency {
  const o = obj(v);
  const entries = o.entries;
  if (typeof entries !== "number") throw notUnderstood();
  return {
    organisation: str(o, "organisation"),
    generatedAt: str(o, "generatedAt"),
    verified: o.verified === true,
    head: typeof o.head === "string" ? o.head : undefined,
    brokenAt: isObj(o.broken) && typeof o.broken.seq === "number" ? o.broken.seq : undefined,
    entries,
    first: typeof o.first === "number" ? o.first : undefined,
    since: typeof o.since === "string" ? o.since : undefined,
    categories: list(o, "categories").map((c) => {
      const co = obj(c);
      const total = co.total;
      if (typeof total !== "number") throw notUnderstood();
      return { action: str(co, "action"), description: str(co, "description"), total };
    }),
    months: list(o, "months").map((m) => {
      const mo = obj(m);
      return { month: str(mo, "month"), counts: counts(mo.counts), legal: counts(mo.legal) };
    }),
  };
}

export async function getTransparency(): Promise<Transparency> {
  return parseTransparency(await call("GET", "/api/transparency"));
}
