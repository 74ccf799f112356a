// API tokens and webhooks (docs/api.md, "API tokens", "Webhooks"): the
// account's personal tokens, the organisation's tokens and webhooks for
// administrators, and the webhooks' delivery log. A token's or a
// webhook's secret is in the answer that creates it, and never again.

import { call, list, notUnderstood, obj, optStr, str, type Obj } from "./http.js";

export type TokenKind = "personal" | "org";

export interface ApiToken {
  id: string;
  kind: TokenKind;
  name: string;
  scopes: string[];
  createdAt: string;
  expiresAt?: string;
  lastUsed?: string;
  /** An organisation token's administrator. */
  createdBy?: { id: string; name: string };
}

/** The scopes, with what each lets a program do; admin only for the organisation's tokens. */
export const SCOPES: readonly (readonly [scope: string, words: string])[] = [
  ["meetings:read", "Read meetings (list them, look one up)"],
  ["meetings:write", "Manage meetings (create, change, delete)"],
  ["admin", "Administration (organisation settings, accounts list, audit log, meetings in progress, usage, webhooks): organisation tokens only"],
];

function strings(o: Obj, key: string): string[] {
  return list(o, key).map((v) => {
    if (typeof v !== "string") throw notUnderstood();
    return v;
  });
}

export function parseToken(v: unknown): ApiToken {
  const o = obj(v);
  const kind = str(o, "kind");
  if (kind !== "personal" && kind !== "org") throw notUnderstood();
  const t: ApiToken = { id: str(o, "id"), kind, name: str(o, "name"), scopes: strings(o, "scopes"), createdAt: str(o, "createdAt") };
  const expires = optStr(o, "expiresAt");
  if (expires !== undefined) t.expiresAt = expires;
  const used = optStr(o, "lastUsed");
  if (used !== undefined) t.lastUsed = used;
  if (o.createdBy !== undefined) {
    const c = obj(o.createdBy);
    t.createdBy = { id: str(c, "id"), name: optStr(c, "name") ?? "" };
  }
  return t;
}

/** Whether a token has expired by now. */
export function tokenExpired(t: ApiToken, now: Date): boolean {
  return t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now.getTime();
}

const base = (kind: TokenKind): string => (kind === "org" ? "/api/admin/tokens" : "/api/me/tokens");

export async function listTokens(kind: TokenKind): Promise<ApiToken[]> {
  return list(obj(await call("GET", base(kind))), "tokens").map(parseToken);
}

/** Creates a token; secret is its text, shown this once. */
export async function createToken(kind: TokenKind, name: string, scopes: string[], expiresInDays: number): Promise<{ token: ApiToken; secret: string }> {
  const o = obj(await call("POST", base(kind), { name, scopes, expiresInDays }));
  return { token: parseToken(o.token), secret: str(o, "secret") };
}

export async function revokeToken(kind: TokenKind, id: string): Promise<void> {
  await call("DELETE", `${base(kind)}/${encodeURIComponent(id)}`);
}

// ---- webhooks -------------------------------------------------------------------------

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  createdAt: string;
  createdBy: string;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface Delivery {
  id: string;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  nextAt?: string;
  lastCode?: number;
  lastError?: string;
  createdAt: string;
  updatedAt: string;
}

/** The events, with what each means. */
export const WEBHOOK_EVENTS: readonly (readonly [event: string, words: string])[] = [
  ["meeting.started", "A meeting started (its first participant was let in)"],
  ["meeting.ended", "A meeting ended (with how many took part and for how long)"],
  ["participant.joined", "Someone joined a meeting or one of its breakout rooms"],
  ["participant.left", "Someone left a meeting or one of its breakout rooms"],
  ["recording.ready", "A recording was finished (its ID, meeting, size and number of chunks; never its key or content)"],
];

export function parseWebhook(v: unknown): Webhook {
  const o = obj(v);
  if (typeof o.enabled !== "boolean") throw notUnderstood();
  return { id: str(o, "id"), url: str(o, "url"), events: strings(o, "events"), enabled: o.enabled, createdAt: str(o, "createdAt"), createdBy: str(o, "createdBy") };
}

export function parseDelivery(v: unknown): Delivery {
  const o = obj(v);
  const status = str(o, "status");
  if (status !== "pending" && status !== "delivered" && status !== "failed") throw notUnderstood();
  if (typeof o.attempts !== "number") throw notUnderstood();
  const d: Delivery = { id: str(o, "id"), event: str(o, "event"), status, attempts: o.attempts, createdAt: str(o, "createdAt"), updatedAt: str(o, "updatedAt") };
  const next = optStr(o, "nextAt");
  if (next !== undefined) d.nextAt = next;
  if (typeof o.lastCode === "number") d.lastCode = o.lastCode;
  const err = optStr(o, "lastError");
  if (err !== undefined) d.lastError = err;
  return d;
}

/** A delivery's outcome in words, for the log. */
export function deliveryText(d: Delivery): string {
  const tries = `${d.attempts} ${d.attempts === 1 ? "attempt" : "attempts"}`;
  const last = d.lastError ? `: ${d.lastError}` : d.lastCode ? ` (answered ${d.lastCode})` : "";
  switch (d.status) {
    case "delivered":
      return `Delivered after ${tries}${d.lastCode ? ` (answered ${d.lastCode})` : ""}`;
    case "failed":
      return `Given up after ${tries}${last}`;
    case "pending":
      return d.attempts === 0 ? "Waiting to be sent" : `Failed ${tries} so far${last}; trying again`;
  }
}

export async function listWebhooks(): Promise<Webhook[]> {
  return list(obj(await call("GET", "/api/admin/webhooks")), "webhooks").map(parseWebhook);
}

/** Registers a webhook; secret signs its deliveries and is shown this once. */
export async function createWebhook(url: string, events: string[]): Promise<{ webhook: Webhook; secret: string }> {
  const o = obj(await call("POST", "/api/admin/webhooks", { url, events }));
  return { webhook: parseWebhook(o.webhook), secret: str(o, "secret") };
}

export async function setWebhookEnabled(id: string, enabled: boolean): Promise<void> {
  await call("PATCH", `/api/admin/webhooks/${encodeURIComponent(id)}`, { enabled });
}

export async function deleteWebhook(id: string): Promise<void> {
  await call("DELETE", `/api/admin/webhooks/${encodeURIComponent(id)}`);
}

export async function webhookDeliveries(id: string): Promise<Delivery[]> {
  return list(obj(await call("GET", `/api/admin/webhooks/${encodeURIComponent(id)}/deliveries`)), "deliveries").map(parseDelivery);
}
