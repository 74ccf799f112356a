// Whether this participant's media (the peer connection to the server)
// connects, and what to tell the person when it does not: signalling may
// work while every ICE path is blocked (a firewall that lets the web page
// through but no media, a VPN), and then the page would show only avatars.
// The session reports each failure and each connection; the problem shows
// from the first failure until media connects, through the session's ICE
// restarts and reconnects. The advice says the relay was tried only once a
// call had it (relays.ts holds it back until a direct attempt failed).

import { hasRelays } from "./relays.js";

/** What to tell the person about their media connection. */
export interface MediaProblemNote {
  /** What is wrong, in one sentence. */
  text: string;
  /** What Kaigi tried and what the person can try. */
  advice: string;
}

export class MediaHealth {
  private failures = 0;
  private everConnected = false;
  private relay = false;

  /**
   * A new call starts with these ICE servers: whether a TURN relay is among
   * them. A call that holds its relays back (relays.ts) has not tried them,
   * so the advice does not say it has until relaysAdded.
   */
  using(iceServers: readonly RTCIceServer[]): void {
    this.relay = hasRelays(iceServers);
  }

  /** The call added the TURN relays it held back: from now on it tries them too. Returns whether what to show changed. */
  relaysAdded(): boolean {
    const changed = this.failures > 0 && !this.relay;
    this.relay = true;
    return changed;
  }

  /** ICE failed or did not connect in time. Returns whether what to show changed. */
  failed(): boolean {
    this.failures++;
    return this.failures === 1;
  }

  /** ICE connected. Returns whether what to show changed. */
  connected(): boolean {
    const was = this.failures > 0;
    this.failures = 0;
    this.everConnected = true;
    return was;
  }

  /** How many times in a row media failed to connect. */
  get failuresInARow(): number {
    return this.failures;
  }

  /** What to show, or null while media works (or has not failed yet). */
  get problem(): MediaProblemNote | null {
    if (this.failures === 0) return null;
    const tried = this.relay ? "Kaigi tried connecting directly and through its relay" : "Kaigi tried connecting directly";
    return {
      text: this.everConnected ? "Your audio and video connection was lost." : "Your audio and video cannot connect.",
      advice: `Your network may be blocking the call. ${tried} and keeps trying; try another network, or turn off a VPN or firewall.`,
    };
  }
}
