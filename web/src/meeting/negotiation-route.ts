// The server's media negotiation messages, routed to the call
// (docs/protocol.md, "Media negotiation"), and the bound on ICE restarts.
//
// `ice_restart`: the server's side of our peer connection stopped carrying
// media (pion, the controlled ICE agent, kept sending into a candidate pair
// whose address went away, while the browser moved to another pair and
// stays "connected", so it would never restart by itself). The client
// restarts ICE at once, within the same bound as its own restarts. A
// hostile server gains nothing by asking: it can stop the media anyway, and
// a restart only makes the browser gather and check again.

import type { Call } from "./call.js";
import type { ServerMessage } from "./protocol.js";

/** At most one ICE restart in this time, whoever asked for it. */
export const ICE_RESTART_MIN_INTERVAL_MS = 5000;

/** When the last ICE restart was, to keep them ICE_RESTART_MIN_INTERVAL_MS apart. */
export class IceRestarts {
  private last = Number.NEGATIVE_INFINITY;
  constructor(private readonly now: () => number = Date.now) {}

  /** Whether a restart may go now; if so, it counts as made. */
  take(): boolean {
    const now = this.now();
    if (now - this.last < ICE_RESTART_MIN_INTERVAL_MS) return false;
    this.last = now;
    return true;
  }
}

/**
 * Hands a negotiation message to the call and returns true; returns false
 * for any other message. `iceRestart` handles the server's `ice_restart`.
 */
export function routeNegotiation(call: Call | null, m: ServerMessage, iceRestart: () => void): boolean {
  switch (m.type) {
    case "renegotiate":
      call?.handleRenegotiate();
      return true;
    case "offer":
      call?.handleOffer(m);
      return true;
    case "answer":
      call?.handleAnswer(m);
      return true;
    case "candidate":
      call?.handleCandidate(m.candidate);
      return true;
    case "ice_restart":
      iceRestart();
      return true;
    default:
      return false;
  }
}
