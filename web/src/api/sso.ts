// Single sign-on through the organisation's OpenID Connect provider
// (docs/api.md, "Single sign-on"): what the sign-in page offers, the
// administrator's settings (the client secret is sent, never shown back),
// and the sentences for the codes the server sends the sign-in page back
// with after a failed sign-in (?sso=<code>). The sign-in itself is a
// top-level navigation to SSO_START: the provider's page is never fetched
// by this client.

import { call, list, notUnderstood, obj, optStr, str, type Obj } from "./http.js";

/** Where the "Sign in with …" link goes: the server redirects to the provider. */
export const SSO_START = "/api/auth/oidc/start";

export interface SSOButton {
  enabled: boolean;
  label: string;
  ssoOnly: boolean;
}

export interface SSOSettings {
  enabled: boolean;
  issuer: string;
  clientId: string;
  /** Whether the server keeps a client secret (never sent back). */
  secretSet: boolean;
  label: string;
  domains: string[];
  allowCreate: boolean;
  linkByEmail: boolean;
  ssoOnly: boolean;
  /** The callback URL to register at the provider. */
  redirectUri: string;
}

/** What an administrator saves: clientSecret empty keeps the kept one. */
export interface SSOSettingsInput {
  enabled: boolean;
  issuer: string;
  clientId: string;
  clientSecret?: string;
  clearSecret?: boolean;
  label: string;
  domains: string[];
  allowCreate: boolean;
  linkByEmail: boolean;
  ssoOnly: boolean;
}

function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw notUnderstood();
  return v;
}

export function parseSSOButton(v: unknown): SSOButton {
  const o = obj(v);
  return { enabled: bool(o, "enabled"), label: optStr(o, "label") ?? "", ssoOnly: bool(o, "ssoOnly") };
}

export function parseSSOSettings(v: unknown): SSOSettings {
  const o = obj(v);
  return {
    enabled: bool(o, "enabled"),
    issuer: str(o, "issuer"),
    clientId: str(o, "clientId"),
    secretSet: bool(o, "secretSet"),
    label: str(o, "label"),
    domains: list(o, "domains").map((d) => {
      if (typeof d !== "string") throw notUnderstood();
      return d;
    }),
    allowCreate: bool(o, "allowCreate"),
    linkByEmail: bool(o, "linkByEmail"),
    ssoOnly: bool(o, "ssoOnly"),
    redirectUri: str(o, "redirectUri"),
  };
}

export async function getSSOButton(): Promise<SSOButton> {
  return parseSSOButton(await call("GET", "/api/auth/sso"));
}

export async function getSSOSettings(): Promise<SSOSettings> {
  return parseSSOSettings(await call("GET", "/api/admin/sso"));
}

export async function saveSSOSettings(s: SSOSettingsInput): Promise<SSOSettings> {
  return parseSSOSettings(await call("PUT", "/api/admin/sso", s));
}

/** "Sign in with Example ID", with a fallback for an empty label. */
export function ssoButtonText(b: SSOButton): string {
  return `Sign in with ${b.label.trim() === "" ? "single sign-on" : b.label}`;
}

const problems: Readonly<Record<string, string>> = {
  sso_unavailable: "Single sign-on is not set up on this server. Sign in with your e-mail and password.",
  sso_expired: "That sign-in took too long or was started in another browser or tab. Try again.",
  sso_provider: "Your organisation's sign-in service could not be reached. Try again in a moment, or tell an administrator.",
  sso_refused: "Your organisation's sign-in service did not confirm who you are, or the sign-in was cancelled. Try again.",
  sso_no_account: "There is no account for you on this server yet. Ask an administrator to create one.",
  sso_domain: "Your sign-in service did not confirm an e-mail address this server accepts. Ask an administrator.",
  sso_email_taken: "An account with your e-mail address already exists here and is not linked to single sign-on. Sign in with its password, or ask an administrator.",
  sso_sign_in_first:
    "An account with your e-mail address already exists here, and the server cannot tell it is yours. Sign in to it with its password (or passkey), then link single sign-on from your security settings.",
  sso_link_refused: "That single sign-on identity cannot be linked to this account: it belongs to another account, this account has one already, or it is an administrator's.",
  account_suspended: "An administrator suspended your account. Sign in with your password to see the reason, or ask an administrator.",
  rate_limited: "Too many attempts. Wait a minute and try again.",
};

/**
 * The sentence for the ?sso=<code> the server sent the sign-in page back
 * with, or null when there is none. An unknown code gets a general
 * sentence: the query's text itself is never shown.
 */
export function ssoProblem(search: string): string | null {
  const code = new URLSearchParams(search).get("sso");
  if (code === null) return null;
  return problems[code] ?? "Single sign-on did not work. Try again, or sign in another way.";
}

/** Begins linking the organisation's provider to the signed-in account (after a recent re-authentication): the address to send the browser to. */
export async function linkSSO(): Promise<string> {
  return str(obj(await call("POST", "/api/auth/oidc/link", {})), "url");
}
