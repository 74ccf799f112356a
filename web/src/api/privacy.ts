// What the server says about itself (docs/api.md): GET /api/privacy, every
// piece of data it keeps, why and for how long; GET /api/about, its version
// and the fingerprint of the web client it serves. Both are public.

import { call, list, obj, str, notUnderstood, type Obj } from "./http.js";

export interface PrivacyColumn {
  column: string;
  what: string;
}

export interface PrivacyTable {
  table: string;
  title: string;
  why: string;
  kept: string;
  noLimit: boolean;
  columns: PrivacyColumn[];
}

export interface BrowserItem {
  where: string;
  key: string;
  what: string;
  kept: string;
}

export interface PrivacyReport {
  organisation: string;
  tables: PrivacyTable[];
  files: { file: string; what: string; kept: string }[];
  logs: { holds: string[]; never: string; kept: string };
  browser: BrowserItem[];
  thirdParties: string[];
  notKept: string[];
}

function strings(o: Obj, key: string): string[] {
  return list(o, key).map((v) => {
    if (typeof v !== "string") throw notUnderstood();
    return v;
  });
}

export function parsePrivacy(v: unknown): PrivacyReport {
  const o = obj(v);
  const logs = obj(o.logs);
  return {
    organisation: str(o, "organisation"),
    tables: list(o, "tables").map((t) => {
      const x = obj(t);
      return {
        table: str(x, "table"),
        title: str(x, "title"),
        why: str(x, "why"),
        kept: str(x, "kept"),
        noLimit: x.noLimit === true,
        columns: list(x, "columns").map((c) => {
          const y = obj(c);
          return { column: str(y, "column"), what: str(y, "what") };
        }),
      };
    }),
    files: list(o, "files").map((f) => {
      const x = obj(f);
      return { file: str(x, "file"), what: str(x, "what"), kept: str(x, "kept") };
    }),
    logs: { holds: strings(logs, "holds"), never: str(logs, "never"), kept: str(logs, "kept") },
    browser: list(o, "browser").map((b) => {
      const x = obj(b);
      return { where: str(x, "where"), key: str(x, "key"), what: str(x, "what"), kept: str(x, "kept") };
    }),
    thirdParties: strings(o, "thirdParties"),
    notKept: strings(o, "notKept"),
  };
}

export async function privacy(): Promise<PrivacyReport> {
  return parsePrivacy(await call("GET", "/api/privacy"));
}

export interface About {
  version: string;
  webClient: { sha256: string; files: number; command: string };
  build: { go: string; platform: string; trimpath: boolean; revision?: string; modified?: boolean };
  source: string;
  licence: string;
}

export function parseAbout(v: unknown): About {
  const o = obj(v);
  const w = obj(o.webClient);
  const b = obj(o.build);
  if (typeof w.files !== "number") throw notUnderstood();
  return {
    version: str(o, "version"),
    webClient: { sha256: str(w, "sha256"), files: w.files, command: str(w, "command") },
    build: {
      go: str(b, "go"),
      platform: str(b, "platform"),
      trimpath: b.trimpath === true,
      ...(typeof b.revision === "string" ? { revision: b.revision } : {}),
      ...(b.modified === true ? { modified: true } : {}),
    },
    source: str(o, "source"),
    licence: str(o, "licence"),
  };
}

export async function about(): Promise<About> {
  return parseAbout(await call("GET", "/api/about"));
}
