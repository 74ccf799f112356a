// Re-authentication (docs/api.md, "Re-authentication"): sensitive actions
// (API tokens, webhooks, linking single sign-on, the organisation's
// security settings, other accounts) need the person to have proved
// themselves in the last 10 minutes; outside that window they answer
// reauth_required, and the page asks again (ui/reauth-prompt.ts).

import { call, obj } from "./http.js";

/** Until when this session may take sensitive actions (an ISO time), or null. */
export async function reauthUntil(): Promise<string | null> {
  const until = obj(await call("GET", "/api/auth/reauth")).until;
  return typeof until === "string" ? until : null;
}

/** Re-authenticates with the password, and a code when the account has an authenticator app. */
export async function reauthWithPassword(password: string, code: string): Promise<string | null> {
  const until = obj(await call("POST", "/api/auth/reauth", { password, code })).until;
  return typeof until === "string" ? until : null;
}
