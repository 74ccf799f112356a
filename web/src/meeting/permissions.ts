// What the person may do in the meeting, mirroring the server's rules
// (internal/meeting/permissions.go) so the UI offers only what will work.
// The server enforces all of it anyway; this only decides what to show.

import type { Settings } from "./settings.js";

export type Role = "host" | "cohost" | "participant";

export function isModerator(role: string | undefined): boolean {
  return role === "host" || role === "cohost";
}

export function mayShareScreen(role: string | undefined, s: Settings | null): boolean {
  return isModerator(role) || s === null || s.screenShare === "everyone";
}

/** Whether the person may turn the microphone on: always, unless a host muted them and only hosts may undo that. */
export function mayUnmute(role: string | undefined, s: Settings | null, mutedByHost: boolean): boolean {
  return !mutedByHost || isModerator(role) || s === null || s.unmute === "everyone";
}

export function mayRenameSelf(role: string | undefined, s: Settings | null): boolean {
  return isModerator(role) || s === null || s.rename === "everyone";
}

/** The actions of a participant's menu in the participants panel. */
export type MenuAction = "mute" | "stop-video" | "stop-screen" | "rename" | "make-cohost" | "remove-cohost" | "remove";

export interface MenuTarget {
  role: string;
  audio: boolean;
  video: boolean;
  screen: boolean;
}

/**
 * What the viewer may do to a participant, in menu order. Moderators
 * moderate everyone but the host; only the host hands out co-host rights;
 * anyone may rename themselves when the meeting allows it.
 */
export function menuActions(viewerRole: string | undefined, target: MenuTarget, self: boolean, s: Settings | null): MenuAction[] {
  if (self) return mayRenameSelf(viewerRole, s) ? ["rename"] : [];
  if (!isModerator(viewerRole) || target.role === "host") return [];
  const out: MenuAction[] = [];
  if (target.audio) out.push("mute");
  if (target.video) out.push("stop-video");
  if (target.screen) out.push("stop-screen");
  out.push("rename");
  if (viewerRole === "host") out.push(target.role === "cohost" ? "remove-cohost" : "make-cohost");
  out.push("remove");
  return out;
}

export const MENU_LABELS: Readonly<Record<MenuAction, string>> = {
  mute: "Mute",
  "stop-video": "Stop video",
  "stop-screen": "Stop screen share",
  rename: "Rename…",
  "make-cohost": "Make co-host",
  "remove-cohost": "Remove co-host rights",
  remove: "Remove…",
};
