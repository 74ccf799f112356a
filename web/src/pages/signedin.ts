// Who is signed in, for the pages that care, with the two rules every such
// page follows: a page for accounts sends a signed-out person to sign in (and
// back afterwards), and an account the organisation requires to set up
// two-factor goes to the enrolment first.

import { me, type Me } from "../api/accounts.js";
import { asApiError } from "../api/http.js";
import { setState, showScreen, type AppState } from "../app.js";
import { signInPath } from "../lib/navigation.js";
import { fatalScreen } from "../ui/screens.js";

export type Gate = { kind: "ok"; me: Me | null } | { kind: "redirected" };

/**
 * The signed-in account (null if nobody is), after the redirects:
 * `needsAccount` pages send a signed-out person to sign in, and every page
 * but the account page itself sends an account that must enrol in
 * two-factor there. Throws ApiError when the server cannot be asked.
 */
export async function gate(needsAccount: boolean): Promise<Gate> {
  const m = await me();
  const here = location.pathname + location.search;
  if (m === null) {
    if (!needsAccount) return { kind: "ok", me: null };
    location.replace(signInPath(here));
    return { kind: "redirected" };
  }
  if ((m.twoFactorRequired || m.passkeyRequired) && location.pathname !== "/account") {
    location.replace("/account");
    return { kind: "redirected" };
  }
  return { kind: "ok", me: m };
}

/**
 * Starts a page that depends on who is signed in: its state and title,
 * then `gate`. When the server cannot be asked it shows so, with "Try
 * again" running `again`. Returns the account, null for nobody (only when
 * !needsAccount), or undefined when the page is going elsewhere or failed.
 */
export async function openPage(state: AppState, title: string, needsAccount: boolean, again: () => void): Promise<Me | null | undefined> {
  setState(state);
  document.title = title;
  let g: Gate;
  try {
    g = await gate(needsAccount);
  } catch (e) {
    showScreen(fatalScreen("unavailable", asApiError(e).message, [{ id: "retry", label: "Try again", run: again }]));
    return undefined;
  }
  return g.kind === "redirected" ? undefined : g.me;
}
