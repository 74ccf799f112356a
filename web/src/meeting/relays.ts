// TURN relays only when a direct path fails (docs/architecture.md, "TURN").
//
// A welcome's iceServers name the server's TURN relays (turn:/turns: URLs,
// over UDP and TCP). A relay helps only a browser whose network blocks the
// SFU's media ports but lets the TURN port through; for everyone else the
// two allocations a browser opens at once (sockets, goroutines, a TCP
// connection and relay ports on the server) are pure cost. So a call starts
// with the welcome's ICE servers minus the TURN URLs (STUN kept), and only
// if ICE does not connect within a short first timeout, or fails, are the
// relays added and ICE restarted. Once relays were needed, the tab remembers
// it (sessionStorage: one flag, nothing identifying) and every later call of
// the page's life, a reload included, starts with them at once.
//
// TURN credentials open allocations only for a while after the welcome
// that carried them (internal/turn, DefaultLifetime: 10 minutes). A
// fallback long after the welcome (a network change mid-meeting) does not
// use them: the session reconnects, and the new welcome's fresh credentials
// go into a call that starts with relays.
//
// A hostile server gains nothing new: it could name any ICE server already,
// and the fallback happens at most once per page (after it the call starts
// with every server), so it cannot make the client restart ICE or reconnect
// in a loop through it.

import { loadRelaysNeeded, saveRelaysNeeded } from "../lib/storage.js";

/** Whether an ICE server URL is a TURN relay's. */
export function isRelayUrl(url: string): boolean {
  return /^\s*turns?:/i.test(url);
}

function urlsOf(s: RTCIceServer): string[] {
  return Array.isArray(s.urls) ? s.urls : [s.urls];
}

/** Whether any of the servers is a TURN relay. */
export function hasRelays(servers: readonly RTCIceServer[]): boolean {
  return servers.some((s) => urlsOf(s).some(isRelayUrl));
}

/** The servers without their TURN URLs: STUN stays; an entry left with no URL goes. */
export function withoutRelays(servers: readonly RTCIceServer[]): RTCIceServer[] {
  const out: RTCIceServer[] = [];
  for (const s of servers) {
    const urls = urlsOf(s).filter((u) => !isRelayUrl(u));
    if (urls.length === 0) continue;
    // STUN needs no credentials: the TURN ones stay with the relays.
    out.push({ urls });
  }
  return out;
}

/** Where the tab remembers that relays were needed. */
export interface RelayMemory {
  needed(): boolean;
  remember(): void;
}

/** Without sessionStorage (blocked, or tests), remembered for the page's life. */
let neededThisPage = false;

/** The tab's memory: sessionStorage (storage.ts), and the page's own when storage fails. */
export const tabRelayMemory: RelayMemory = {
  needed(): boolean {
    return neededThisPage || loadRelaysNeeded();
  },
  remember(): void {
    neededThisPage = true;
    saveRelaysNeeded();
  },
};

/**
 * How long the direct attempt gets (from the remote description) before
 * the relays are added. A direct path connects in well under a second
 * even on a loaded machine: a round trip of connectivity checks to the
 * SFU's own candidates (e2e TestOrdinaryMeetingAllocatesNoRelay: Chromium
 * connected 0.14–0.16 s after creating its peer connection, on a 2-core
 * machine running both browsers and the server). 3 s leaves a wide
 * margin for a slow network or machine, and a person whose network needs
 * the relay waits about that much once (TestMeetingOverTURNTCP: relay
 * added 3.2 s after the peer connection was made, connected 0.14 s later).
 */
export const DIRECT_TIMEOUT_MS = 3000;

/**
 * The oldest a welcome's TURN credentials may be for a fallback to use
 * them: half their 10-minute lifetime, leaving time for the relay
 * attempt and a retry within it; older ones mean a reconnect for fresh.
 */
export const RELAY_CREDENTIALS_MAX_AGE_MS = 5 * 60_000;

/** What a call starts with, and what it switches to if the direct attempt fails. */
export interface CallIceServers {
  /** The ICE servers the call starts with. */
  start: RTCIceServer[];
  /** Every ICE server of the welcome, relays included, held back for a fallback; null: nothing held back. */
  held: RTCIceServer[] | null;
}

/** The session's rule for when calls use TURN relays. */
export class RelayPolicy {
  private welcomedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly memory: RelayMemory = tabRelayMemory,
    private readonly now: () => number = Date.now,
  ) {}

  /** A welcome gave these ICE servers: what its call starts with. */
  welcomed(servers: readonly RTCIceServer[]): CallIceServers {
    this.welcomedAt = this.now();
    if (!hasRelays(servers) || this.memory.needed()) return { start: [...servers], held: null };
    return { start: withoutRelays(servers), held: [...servers] };
  }

  /**
   * The direct attempt failed: remembered for the rest of the tab's life.
   * "add": add the held relays to this call now; "reconnect": the
   * welcome's credentials are too old, get fresh ones.
   */
  needed(): "add" | "reconnect" {
    this.memory.remember();
    return this.now() - this.welcomedAt > RELAY_CREDENTIALS_MAX_AGE_MS ? "reconnect" : "add";
  }
}
