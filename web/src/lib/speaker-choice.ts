// Who is speaking, and who the speaker view shows, from the audio levels
// of the participants' microphones (RFC 6464 levels, read by
// meeting/active-speaker.ts). Pure, for tests: the caller passes the time.
//
// Two answers with different needs. "Speaking" (the ring on a tile) should
// follow the voice closely, with a short hang so that it does not flicker
// between words. "The speaker" (the large tile) should not jump at a cough
// or a short "mm-hm": levels are smoothed over about a second, and a new
// speaker takes over only once they have been clearly the loudest for a
// while, and not sooner than a minimum time after the last switch.

export interface LevelSample {
  participant: string;
  /** 0..1, linear (RFC 6464's -dBov turned into 10^(-dBov/20)). */
  level: number;
  /** When the level's last packet arrived, on the caller's clock (ms). */
  at: number;
}

export interface SpeakerChoiceOptions {
  /** A level above this is a voice (about -36 dBov). */
  threshold: number;
  /** A level older than this (no packets: muted, or gone) is silence. */
  freshMs: number;
  /** The ring stays this long after the voice drops below the threshold. */
  hangMs: number;
  /** Time constant of the smoothing, ms. */
  smoothMs: number;
  /** A challenger must be the loudest, and louder than the current speaker by `margin`×, for this long. */
  holdMs: number;
  margin: number;
  /** The least time between two switches. */
  minDwellMs: number;
}

export const SPEAKER_DEFAULTS: SpeakerChoiceOptions = {
  threshold: 0.015,
  freshMs: 500,
  hangMs: 400,
  smoothMs: 1000,
  holdMs: 1000,
  margin: 1.5,
  minDwellMs: 2000,
};

interface Track {
  smooth: number;
  loudAt: number;
}

export interface SpeakerState {
  /** Who is speaking now (for the ring). */
  speaking: ReadonlySet<string>;
  /** Who the speaker view shows (null until anyone spoke). */
  speaker: string | null;
}

export class SpeakerChoice {
  private readonly o: SpeakerChoiceOptions;
  private readonly tracks = new Map<string, Track>();
  private speaker: string | null = null;
  private switchedAt = -Infinity;
  private challenger: { participant: string; since: number } | null = null;
  private lastNow: number | null = null;

  constructor(options: Partial<SpeakerChoiceOptions> = {}) {
    this.o = { ...SPEAKER_DEFAULTS, ...options };
  }

  /** Takes the latest levels of everyone who is heard (those missing have left) at time `now`. */
  update(now: number, samples: readonly LevelSample[]): SpeakerState {
    const dt = this.lastNow === null ? 0 : Math.max(0, now - this.lastNow);
    this.lastNow = now;
    const alpha = 1 - Math.exp(-dt / this.o.smoothMs);
    const present = new Set<string>();
    const speaking = new Set<string>();
    for (const s of samples) {
      present.add(s.participant);
      let t = this.tracks.get(s.participant);
      if (!t) {
        t = { smooth: 0, loudAt: -Infinity };
        this.tracks.set(s.participant, t);
      }
      const fresh = now - s.at < this.o.freshMs;
      const level = fresh && Number.isFinite(s.level) ? Math.max(0, Math.min(1, s.level)) : 0;
      // A voice counts at its level; anything under the threshold as silence.
      const x = level > this.o.threshold ? level : 0;
      t.smooth += (x - t.smooth) * alpha;
      if (x > 0) t.loudAt = now;
      if (now - t.loudAt <= this.o.hangMs) speaking.add(s.participant);
    }
    for (const p of [...this.tracks.keys()]) if (!present.has(p)) this.tracks.delete(p);
    if (this.speaker !== null && !present.has(this.speaker)) {
      this.speaker = null;
      this.challenger = null;
    }
    this.choose(now);
    return { speaking, speaker: this.speaker };
  }

  private choose(now: number): void {
    let best: string | null = null;
    let bestLevel = 0;
    for (const [p, t] of this.tracks) {
      if (t.smooth > bestLevel) [best, bestLevel] = [p, t.smooth];
    }
    // Nobody clearly speaking: the view stays where it is.
    if (best === null || bestLevel <= this.o.threshold / 2 || best === this.speaker) {
      this.challenger = null;
      return;
    }
    if (this.speaker === null) {
      this.take(best, now);
      return;
    }
    const current = this.tracks.get(this.speaker)?.smooth ?? 0;
    if (bestLevel < current * this.o.margin) {
      this.challenger = null;
      return;
    }
    if (this.challenger?.participant !== best) this.challenger = { participant: best, since: now };
    if (now - this.challenger.since >= this.o.holdMs && now - this.switchedAt >= this.o.minDwellMs) this.take(best, now);
  }

  private take(p: string, now: number): void {
    this.speaker = p;
    this.switchedAt = now;
    this.challenger = null;
  }
}
