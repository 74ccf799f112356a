// Small full-page screens: a fatal error and "you left the meeting".

import { el, type Child } from "./dom.js";
import { icon } from "./icons.js";
import { siteFooter } from "./site-footer.js";

const TITLES: Record<string, string> = {
  meeting_not_found: "Meeting not found",
  meeting_full: "This meeting is full",
  waiting_room_full: "The waiting room is full",
  bad_name: "That name can't be used",
  unsupported_version: "Kaigi was updated",
  bad_request: "Could not join the meeting",
  connection_lost: "Connection lost",
  replaced: "You joined from somewhere else",
  page_not_found: "Page not found",
  unavailable: "Kaigi can't be reached",
  wrong_passcode: "Wrong passcode",
  meeting_locked: "This meeting is locked",
  banned: "You can't join this meeting",
  country_not_allowed: "Not admitted from where you are connecting",
  region_not_allowed: "This meeting is not held on this server",
  sign_in_required: "Sign in to join this meeting",
  rate_limited: "Too many attempts",
  denied: "The host didn't let you in",
  removed: "You were removed from the meeting",
  ended: "The meeting has ended",
  flooding: "Disconnected: too many messages",
  signed_out: "You were signed out",
  account_suspended: "Your account was suspended",
  account_deleted: "Your account was deleted",
  bad_key_package: "Could not join the meeting",
};

export interface Action {
  id: string;
  label: string;
  /** A button's action, or else a link. */
  run?: () => void;
  href?: string;
  primary?: boolean;
}

export function brand(): HTMLElement {
  return el("a", { class: "brand", attrs: { href: "/" } }, icon("logo", "brand-icon"), el("span", { text: "Kaigi" }));
}

/** A page with just the brand in its header, and the site's footer: `main#id.page.{cls}`. */
export function brandPage(id: string, cls: string, ...children: Child[]): HTMLElement {
  return el("main", { id, class: `page ${cls}` }, el("header", { class: "page-header" }, brand()), ...children, siteFooter());
}

/** `#fatal-error[data-code]`: the code is machine-readable, the message is for people. */
export function fatalScreen(code: string, message: string, actions: Action[] = []): HTMLElement {
  const buttons = actions.map((a) => {
    const cls = a.primary === false ? "button" : "button primary";
    if (a.href !== undefined) return el("a", { id: a.id, class: cls, text: a.label, attrs: { href: a.href } });
    return el("button", { id: a.id, class: cls, text: a.label, attrs: { type: "button" }, on: { click: () => a.run?.() } });
  });
  const page = brandPage(
    "fatal-error",
    "notice-page",
    el(
      "section",
      { class: "notice-card", attrs: { role: "alert" } },
      el("h1", { text: TITLES[code] ?? "Something went wrong" }),
      el("p", { class: "notice-message", text: message }),
      el("div", { class: "notice-actions" }, ...buttons, el("a", { class: "button", attrs: { href: "/" }, text: "Go to the home page" })),
    ),
  );
  page.dataset.code = code;
  return page;
}

export function leftScreen(rejoin: () => void, title = "You left the meeting"): HTMLElement {
  return brandPage(
    "left",
    "notice-page",
    el(
      "section",
      { class: "notice-card" },
      el("h1", { text: title }),
      el("p", { class: "notice-message", text: "Your camera and microphone are off." }),
      el(
        "div",
        { class: "notice-actions" },
        el("button", { id: "rejoin", class: "button primary", text: "Rejoin", attrs: { type: "button" }, on: { click: rejoin } }),
        el("a", { class: "button", attrs: { href: "/" }, text: "Go to the home page" }),
      ),
    ),
  );
}
