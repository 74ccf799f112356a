// A spotlight for everyone (issue 14): a host or co-host puts one
// participant in the large tile on every screen, over each person's own
// layout and pin, until a host removes it. It travels as an end-to-end
// encrypted MLS application message of kind "spotlight". Schema, version 1:
//
//   {"v": 1, "participant": "<id>"}     puts <id> in the spotlight
//   {"v": 1, "participant": null}       removes the spotlight
//
// Checked by every receiver: the sender (the participant its MLS leaf
// announced, not the server's word) must be a host or co-host in the
// roster when it arrives, the message must go to everyone (not sealed to
// one), and the participant must be in the meeting. The spotlight is held
// by the host who set it: that host's client sends it again in every new
// epoch (people who joined since have not seen it), and it ends for
// everyone when that host or the spotlighted participant leaves.

import type { AppMessage } from "../e2ee/messages.js";

export const SPOTLIGHT_KIND = "spotlight";
export const SPOTLIGHT_VERSION = 1;
const ID_MAX = 128;
const BODY_MAX = 256;

export interface SpotlightBody {
  v: typeof SPOTLIGHT_VERSION;
  participant: string | null;
}

export function spotlightBody(participant: string | null): SpotlightBody {
  return { v: SPOTLIGHT_VERSION, participant };
}

/** A received body, or null when it is not a valid version-1 spotlight message. */
export function parseSpotlight(body: unknown): { participant: string | null } | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  if (JSON.stringify(body).length > BODY_MAX) return null;
  const b = body as { v?: unknown; participant?: unknown };
  if (b.v !== SPOTLIGHT_VERSION) return null;
  if (b.participant === null) return { participant: null };
  if (typeof b.participant !== "string" || b.participant.length === 0 || b.participant.length > ID_MAX) return null;
  return { participant: b.participant };
}

/** Who is in the spotlight, and which host set it. */
export interface SpotlightHolder {
  participant: string;
  by: string;
}

/**
 * Applies a received spotlight message to the current state: the new
 * state, or `current` unchanged when the message is refused.
 */
export function applySpotlight(
  current: SpotlightHolder | null,
  m: { claimed: string | null; private: boolean; body: unknown },
  role: (participant: string) => string | undefined,
): SpotlightHolder | null {
  const s = parseSpotlight(m.body);
  if (s === null || m.private || m.claimed === null) return current;
  const senderRole = role(m.claimed);
  if (senderRole !== "host" && senderRole !== "cohost") return current;
  if (s.participant === null) return null;
  if (role(s.participant) === undefined) return current;
  return { participant: s.participant, by: m.claimed };
}

/** The meeting's application messages (SecureMeeting provides them). */
export interface SpotlightChannel {
  onApplication(kind: string, handler: (m: AppMessage) => void): void;
  sendApplication(kind: string, body: unknown, to?: string): Promise<void>;
  readonly inGroup: boolean;
  readonly epoch: bigint | null;
}

export interface SpotlightContext {
  selfId(): string | null;
  /** A participant's role from the roster (undefined: not in the meeting). */
  role(participant: string): string | undefined;
}

/** The spotlight of one meeting, kept in step with the others' through the channel. */
export class Spotlight {
  private holder: SpotlightHolder | null = null;
  private announcedEpoch: bigint | null = null;

  constructor(
    private readonly channel: SpotlightChannel,
    private readonly ctx: SpotlightContext,
    private readonly changed: () => void,
    private readonly failed: (text: string) => void,
  ) {
    channel.onApplication(SPOTLIGHT_KIND, (m) => {
      const next = applySpotlight(this.holder, m, (p) => ctx.role(p));
      if (next !== this.holder) this.setHolder(next);
    });
  }

  /** The participant in the spotlight, or null. */
  get participant(): string | null {
    return this.holder?.participant ?? null;
  }

  /** Puts a participant in the spotlight for everyone (null: removes it). Hosts and co-hosts only. */
  set(participant: string | null): void {
    const self = this.ctx.selfId();
    const role = self === null ? undefined : this.ctx.role(self);
    if (self === null || (role !== "host" && role !== "cohost")) return;
    if (!this.channel.inGroup) {
      this.failed("Still setting up encryption. Try again in a moment.");
      return;
    }
    this.channel.sendApplication(SPOTLIGHT_KIND, spotlightBody(participant)).catch((e: unknown) => {
      console.warn("kaigi: could not send the spotlight:", e);
      this.failed("The spotlight could not be sent. Try again in a moment.");
    });
    this.announcedEpoch = this.channel.epoch;
    this.setHolder(participant === null ? null : { participant, by: self });
  }

  /**
   * The roster or the encryption changed: the spotlight ends when its
   * participant or its host left; the host that holds it sends it again in
   * a new epoch, for those who joined since.
   */
  refresh(): void {
    const h = this.holder;
    if (h !== null && (this.ctx.role(h.participant) === undefined || this.ctx.role(h.by) === undefined)) {
      this.setHolder(null);
      return;
    }
    const epoch = this.channel.epoch;
    if (h === null || h.by !== this.ctx.selfId() || !this.channel.inGroup || epoch === null || epoch === this.announcedEpoch) return;
    this.announcedEpoch = epoch;
    this.channel.sendApplication(SPOTLIGHT_KIND, spotlightBody(h.participant)).catch((e: unknown) => console.warn("kaigi: could not send the spotlight again:", e));
  }

  private setHolder(h: SpotlightHolder | null): void {
    this.holder = h;
    this.changed();
  }
}
