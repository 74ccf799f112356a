// What the session does when its media connection (the call's ICE) fails
// or does not connect in time, and what the person is told meanwhile
// (media-health.ts). One per session, outliving its calls.
//
// In order: a call that never connected directly while TURN relays were
// held back (relays.ts) falls back to them (added in place, or through a
// reconnect); otherwise ICE restarts in place, at most once per interval
// (negotiation-route.ts, IceRestarts), and a second failure in a row
// reconnects the session, which negotiates new peer connections on both
// sides. A call whose ICE failed outright is never restarted in place:
// Firefox ESR restarted from "failed" receives but sends nothing (e2e
// TestFirefoxRecoversAfterICEFailed), so it reconnects at once.

import type { Call } from "./call.js";
import { MediaHealth } from "./media-health.js";
import { IceRestarts } from "./negotiation-route.js";
import { type CallIceServers, type RelayMemory, RelayPolicy } from "./relays.js";

/** ICE failures in a row (each up to 10 s without a connection) before the whole session reconnects. */
const ICE_FAILURES_BEFORE_RECONNECT = 2;

/** What the media connection needs of its session. */
export interface MediaConnectionSession {
  /** The current call (null between a lost connection and the next welcome). */
  call(): Call | null;
  /** Whether signalling is up now. */
  signalConnected(): boolean;
  /** Reconnects the session: a new welcome, and with it a new call. */
  reconnect(): void;
  /** What mediaHealth shows changed. */
  healthChanged(): void;
}

export class MediaConnection {
  /** Whether media connects, and what to tell the person when it does not. */
  readonly health = new MediaHealth();
  private readonly iceRestarts: IceRestarts;
  /** When calls use the TURN relays: only once a direct attempt failed (relays.ts). */
  private readonly relays: RelayPolicy;
  private iceFailures = 0;
  /**
   * The current call connected directly, lost its connection, and was
   * restarted directly since: if that fails too, it falls back to relays.
   */
  private directRetried = false;

  constructor(
    private readonly session: MediaConnectionSession,
    relayMemory?: RelayMemory,
    now?: () => number,
  ) {
    this.relays = new RelayPolicy(relayMemory, now);
    this.iceRestarts = new IceRestarts(now);
  }

  /** A welcome gave these ICE servers: what its call starts with (and holds back). */
  welcomed(servers: readonly RTCIceServer[]): CallIceServers {
    const ice = this.relays.welcomed(servers);
    this.health.using(ice.start);
    this.directRetried = false;
    return ice;
  }

  /** The call's ICE connected (again). */
  connected(): void {
    this.iceFailures = 0;
    this.directRetried = false;
    if (this.health.connected()) this.session.healthChanged();
  }

  /** The server asks for an ICE restart (`ice_restart`): within the usual bound. */
  serverAskedRestart(): void {
    if (this.session.signalConnected() && this.iceRestarts.take()) this.restartIce();
  }

  /**
   * Media does not connect: restart ICE first; if that does not help either,
   * reconnect the session, which negotiates new peer connections on both sides.
   */
  failed(): void {
    const call = this.session.call();
    // Never connected: the direct path is blocked, fall back now. A call
    // that did connect directly lost it to a network change, most likely:
    // a direct restart first (the usual path below), the relays only if
    // that fails too.
    if (call?.holdsRelays && (!call.hasConnected || this.directRetried)) {
      this.fallBackToRelays(call);
      return;
    }
    if (this.health.failed()) this.session.healthChanged();
    if (!this.session.signalConnected() || !this.iceRestarts.take()) return;
    this.iceFailures++;
    if (this.iceFailures >= ICE_FAILURES_BEFORE_RECONNECT) {
      this.iceFailures = 0;
      console.warn("kaigi: media could not connect; reconnecting");
      this.session.reconnect();
      return;
    }
    if (call?.holdsRelays) this.directRetried = true;
    this.restartIce();
  }

  /**
   * Restarts ICE on the call, or reconnects the session where its ICE
   * failed outright: Firefox ESR restarted in place from "failed" goes on
   * receiving, but nothing it sends arrives any more (e2e
   * TestFirefoxRecoversAfterICEFailed: the other side never decoded its
   * camera again, in 3 runs of 3), while the reconnect's new peer
   * connection works both ways. Chromium did not say "failed" for a cut
   * path within 60 s (TestChromiumRecoversAfterICEFailed): its restarts
   * come from the timeout and the server's `ice_restart`, in place as
   * before. The reconnect keeps the participant (resume token); the
   * restart's bound (IceRestarts, taken by the caller) bounds it too.
   */
  private restartIce(): void {
    const call = this.session.call();
    if (call?.iceFailedOutright) {
      this.iceFailures = 0;
      console.warn("kaigi: media connection failed; reconnecting");
      this.session.reconnect();
      return;
    }
    call?.restartIce();
  }

  /**
   * The direct attempt did not connect: add the TURN relays and restart ICE
   * (no media problem shown yet: this is the expected path of a network
   * that needs the relay). Where the welcome's credentials are too old, the
   * browser will not take new ICE servers on this peer connection, or ICE
   * failed outright, reconnect instead: the new welcome's call starts with
   * relays. ICE fails outright in Firefox, at once when it has no usable
   * candidate, and after an ICE restart from that state its media did not
   * reach the server (e2e, Firefox ESR 153 with relay-only ICE: in 4 runs
   * of 4 it received but nothing it sent was published); Chromium only
   * times out (its state stays "new" or "checking"), and the restart works.
   */
  private fallBackToRelays(call: Call): void {
    // Signalling is down: the reconnect that follows makes a new call anyway,
    // and a failure now says nothing about the network's media ports.
    if (!this.session.signalConnected()) return;
    if (this.relays.needed() === "add" && !call.iceFailedOutright && call.addRelays()) {
      if (this.health.relaysAdded()) this.session.healthChanged();
      // Counted, so the next restart waits its interval; this one goes
      // regardless: there is one fallback per page (the next calls start
      // with relays), so nobody can make it loop.
      this.iceRestarts.take();
      call.restartIce();
      return;
    }
    console.info("kaigi: reconnecting to use the TURN relays");
    this.session.reconnect();
  }
}
