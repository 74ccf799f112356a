// The page as a whole: which screen is showing, the state the tests can read
// through window.kaigiDebug, and the screen switch.

import type { InboundStats } from "./call.js";

export type AppState =
  | "home"
  | "signin"
  | "signup"
  | "account"
  | "admin"
  | "schedule"
  | "prejoin"
  | "joining"
  | "waiting"
  | "in-meeting"
  | "reconnecting"
  | "left"
  | "error";

/** What the meeting screen lets the debug hook see. */
export interface DebugSource {
  selfId(): string | null;
  stats(): Promise<InboundStats[]>;
}

let state: AppState = "home";
let source: DebugSource | null = null;

export function setState(s: AppState): void {
  state = s;
  document.body.dataset.state = s;
}

export function setDebugSource(d: DebugSource | null): void {
  source = d;
}

/** A test hook: nothing secret (no resume token, no SDP), only what the screen already shows. */
export function installDebugHook(): void {
  const hook = {
    selfId: (): string | null => source?.selfId() ?? null,
    state: (): AppState => state,
    stats: async (): Promise<InboundStats[]> => (source ? source.stats() : []),
  };
  Object.defineProperty(window, "kaigiDebug", { value: Object.freeze(hook), configurable: false });
}

/**
 * Shows a screen in place of the current one and moves focus to its first
 * heading, so a screen reader announces where the person now is.
 */
export function showScreen(screen: HTMLElement, focusHeading = true): void {
  const root = document.getElementById("app")!;
  root.replaceChildren(screen);
  if (!focusHeading) return;
  const h = screen.querySelector<HTMLElement>("h1, h2");
  if (h) {
    h.tabIndex = -1;
    h.focus({ preventScroll: true });
  }
}
