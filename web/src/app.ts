// The page as a whole: which screen is showing, the state the tests can read
// through window.kaigiDebug, and the screen switch.

import type { InboundStats, OutboundStats } from "./meeting/call.js";

export type AppState =
  | "home"
  | "signin"
  | "signup"
  | "account"
  | "admin"
  | "schedule"
  | "privacy"
  | "about"
  | "transparency"
  | "recordings"
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
  /** What each of our senders carries and has sent. */
  outbound?(): Promise<OutboundStats[]>;
  /** The security code everyone compares (shown on screen), or null. */
  securityCode?(): string | null;
  /** The MLS epoch this browser is at (not secret), or null. */
  e2eeEpoch?(): bigint | null;
  /** How many keys (MLS leaves) the encrypted group has, as the security panel lists them, or null. */
  e2eeMembers?(): number | null;
  /** The media-encryption worker's counters: frames passed and dropped. */
  e2eeStats?(): Promise<unknown[]>;
  /** The chat as shown. */
  chat?(): unknown[];
}

/** Moments of the join, in ms since the page loaded (for measuring join time). */
const timings: Record<string, number> = {};

/** Records the first time something happened (later times are ignored). */
export function markTiming(name: string): void {
  if (!(name in timings)) timings[name] = performance.now();
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
    outbound: async (): Promise<OutboundStats[]> => (source?.outbound ? source.outbound() : []),
    securityCode: (): string | null => source?.securityCode?.() ?? null,
    e2eeEpoch: (): number | null => {
      const e = source?.e2eeEpoch?.();
      return e === null || e === undefined ? null : Number(e);
    },
    e2eeMembers: (): number | null => source?.e2eeMembers?.() ?? null,
    e2eeStats: async (): Promise<unknown[]> => (source?.e2eeStats ? source.e2eeStats() : []),
    chat: (): unknown[] => source?.chat?.() ?? [],
    timings: (): Record<string, number> => ({ ...timings }),
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
