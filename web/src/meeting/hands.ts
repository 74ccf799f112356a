// Raised hands (issue 14), as MLS application messages of kind "hand".
// Schema, version 1:
//
//   {"v": 1, "participant": "<id>", "raised": true, "ago": 0}
//
// `participant` is whose hand it is; `raised` up or down; `ago` (raises
// only, milliseconds, 0 to one day) says how long ago it went up, for a
// re-announcement after a new epoch or a reconnect, so that people who
// join later see the queue in the order hands went up.
//
// Who may send what (checked by every receiver, against the sender its MLS
// leaf announced and the roster's roles):
// - a raise only for oneself;
// - a lower for oneself, or by a host or co-host for anyone.
// The queue is ordered by when each hand went up, as this client first
// learned of it: a re-announcement never moves a hand that is already up
// (so nobody jumps the queue by re-announcing); only someone who had not
// seen the hand takes the raiser's `ago`, clamped to now.

export const HAND_KIND = "hand";
export const HAND_VERSION = 1;
/** The longest `ago` believed. */
export const HAND_AGO_MAX = 24 * 3600_000;
const ID_MAX = 128;
const BODY_MAX = 256;

export interface HandBody {
  v: typeof HAND_VERSION;
  participant: string;
  raised: boolean;
  ago?: number;
}

export function handBody(participant: string, raised: boolean, ago?: number): HandBody {
  const b: HandBody = { v: HAND_VERSION, participant, raised };
  if (raised && ago !== undefined) b.ago = Math.max(0, Math.min(HAND_AGO_MAX, Math.round(ago)));
  return b;
}

/** A received body, or null if it is not a valid version-1 hand message. */
export function parseHand(body: unknown): { participant: string; raised: boolean; ago: number } | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  if (JSON.stringify(body).length > BODY_MAX) return null;
  const b = body as { v?: unknown; participant?: unknown; raised?: unknown; ago?: unknown };
  if (b.v !== HAND_VERSION || typeof b.raised !== "boolean") return null;
  if (typeof b.participant !== "string" || b.participant.length === 0 || b.participant.length > ID_MAX) return null;
  let ago = 0;
  if (b.ago !== undefined) {
    if (typeof b.ago !== "number" || !Number.isFinite(b.ago) || b.ago < 0) return null;
    ago = Math.min(HAND_AGO_MAX, b.ago);
  }
  return { participant: b.participant, raised: b.raised, ago };
}

export function isHostRole(role: string | undefined): boolean {
  return role === "host" || role === "cohost";
}

export interface RaisedHand {
  participant: string;
  /** When it went up, on this client's clock. */
  at: number;
}

/** Everyone's raised hands, in the order they went up. */
export class HandQueue {
  private readonly raised = new Map<string, number>();

  /**
   * Applies a received hand message from `sender` (the participant its MLS
   * leaf announced), whose role the roster gives. Returns whether the
   * queue changed; a message the sender may not send changes nothing.
   */
  apply(body: unknown, sender: string, senderRole: string | undefined, now: number): boolean {
    const h = parseHand(body);
    if (h === null) return false;
    if (h.raised) {
      if (sender !== h.participant) return false;
      if (this.raised.has(h.participant)) return false;
      this.raised.set(h.participant, now - h.ago);
      return true;
    }
    if (sender !== h.participant && !isHostRole(senderRole)) return false;
    return this.raised.delete(h.participant);
  }

  /** Our own hand (or a host's lowering, applied locally as it is sent). */
  set(participant: string, raised: boolean, now: number): boolean {
    if (!raised) return this.raised.delete(participant);
    if (this.raised.has(participant)) return false;
    this.raised.set(participant, now);
    return true;
  }

  isRaised(participant: string): boolean {
    return this.raised.has(participant);
  }

  /** When this participant's hand went up, if it is up. */
  raisedAt(participant: string): number | undefined {
    return this.raised.get(participant);
  }

  /** The raised hands, first raised first (ties by participant ID, so every client agrees). */
  queue(): RaisedHand[] {
    return [...this.raised]
      .map(([participant, at]) => ({ participant, at }))
      .sort((a, b) => a.at - b.at || (a.participant < b.participant ? -1 : a.participant > b.participant ? 1 : 0));
  }

  /** Position in the queue, from 1; 0 when the hand is down. */
  position(participant: string): number {
    return this.queue().findIndex((h) => h.participant === participant) + 1;
  }

  /**
   * Forgets the hands of those no longer in the meeting (someone
   * reconnecting is still in the roster, so keeps their hand). Returns
   * whether anything changed.
   */
  keepOnly(present: (participant: string) => boolean): boolean {
    let changed = false;
    for (const p of [...this.raised.keys()]) {
      if (!present(p)) {
        this.raised.delete(p);
        changed = true;
      }
    }
    return changed;
  }
}
