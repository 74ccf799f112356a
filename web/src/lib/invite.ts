// Invite links. What the server must never see, or must not be trusted
// with, travels in the link's fragment, which browsers never send to it:
// the passcode, and whether the meeting is end-to-end encrypted
// (`/m/{id}#pwd=123456789&e2ee=1`; `e2ee=0` for a meeting without). The
// pre-join screen reads the fragment, keeps the passcode for the tab and
// remembers an encrypted meeting on the device (storage.ts), then takes the
// passcode out of the address bar so it is not left in view or in history.

import type { Meeting } from "../api/meetings.js";

export const PASSCODE_MAX = 64;

/** What an invite link's fragment says. */
export interface Invite {
  /** The passcode, or null when the link has none. */
  passcode: string | null;
  /** End-to-end encrypted (`e2ee=1`), not (`e2ee=0`), or null when the link does not say. */
  e2ee: boolean | null;
}

function params(hash: string): URLSearchParams | null {
  const body = hash.startsWith("#") ? hash.slice(1) : hash;
  if (body === "") return null;
  try {
    return new URLSearchParams(body);
  } catch {
    return null;
  }
}

/**
 * Reads a location fragment such as "#pwd=123456789&e2ee=1" (other
 * parameters may come with it). Spaces in the passcode are dropped, as the
 * server ignores them; an empty or absurdly long passcode is none.
 */
export function readInvite(hash: string): Invite {
  const p = params(hash);
  const invite: Invite = { passcode: null, e2ee: null };
  if (p === null) return invite;
  const pwd = p.get("pwd");
  if (pwd !== null) {
    const code = cleanPasscode(pwd);
    if (code !== "" && code.length <= PASSCODE_MAX) invite.passcode = code;
  }
  const e2ee = p.get("e2ee");
  if (e2ee === "1") invite.e2ee = true;
  else if (e2ee === "0") invite.e2ee = false;
  return invite;
}

/** A typed passcode as hello sends it: spaces anywhere removed. */
export function cleanPasscode(typed: string): string {
  return typed.replace(/\s+/g, "");
}

/** Whether a fragment carries a passcode, which should not stay in the address bar. */
export function fragmentHasPasscode(hash: string): boolean {
  return params(hash)?.has("pwd") ?? false;
}

/** The fragment for an invite: the passcode if there is one, then the E2EE marker if known ("" for neither). */
export function inviteFragment(invite: Invite): string {
  const p = new URLSearchParams();
  if (invite.passcode) p.set("pwd", invite.passcode);
  if (invite.e2ee !== null) p.set("e2ee", invite.e2ee ? "1" : "0");
  const s = p.toString();
  return s === "" ? "" : `#${s}`;
}

/** A meeting address with the invite's fragment (replacing any it had). */
export function inviteLink(url: string, invite: Invite): string {
  const hash = url.indexOf("#");
  return (hash < 0 ? url : url.slice(0, hash)) + inviteFragment(invite);
}

/** What stays in the address bar of an invite link once read: the E2EE marker, never the passcode. */
export function fragmentWithoutPasscode(hash: string): string {
  return inviteFragment({ passcode: null, e2ee: readInvite(hash).e2ee });
}

/** The invite fragment of a pasted link, rebuilt from what it says ("" when it says nothing). */
export function inviteFragmentOf(text: string): string {
  const hash = text.indexOf("#");
  return hash < 0 ? "" : inviteFragment(readInvite(text.slice(hash)));
}

/** A meeting's invite link, for its owner to share: with the passcode if it needs one, and always the E2EE marker. */
export function meetingInviteLink(m: Meeting): string {
  return inviteLink(m.url, { passcode: m.needsPasscode ? (m.passcode ?? null) : null, e2ee: m.e2ee });
}

/** The owner's own way in ("Start"): no passcode, the E2EE marker. */
export function meetingStartLink(m: Meeting): string {
  return inviteLink(m.url, { passcode: null, e2ee: m.e2ee });
}
