// Who is speaking, from the audio level each remote microphone's packets
// carry (the RFC 6464 header extension, which the SFU forwards and SFrame
// leaves in clear: it works in end-to-end encrypted meetings without
// decrypting anything). The browser exposes the latest level per receiver
// through getSynchronizationSources(); this polls it and hands the levels
// to lib/speaker-choice.ts, which smooths them and decides.

import { SpeakerChoice, type LevelSample, type SpeakerState } from "../lib/speaker-choice.js";

/** How often the levels are read. */
export const POLL_MS = 150;

/** One remote microphone. */
export interface AudioReceiver {
  participant: string;
  receiver: RTCRtpReceiver;
}

export class ActiveSpeaker {
  private readonly choice = new SpeakerChoice();
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Per participant: the last packet time the browser reported, and when (on our clock) we saw it change. */
  private readonly last = new Map<string, { timestamp: number; at: number }>();
  private state: SpeakerState = { speaking: new Set(), speaker: null };

  constructor(
    private readonly receivers: () => AudioReceiver[],
    private readonly changed: (s: SpeakerState) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    if (this.timer === undefined) this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get current(): SpeakerState {
    return this.state;
  }

  private poll(): void {
    const now = this.now();
    const samples: LevelSample[] = [];
    const seen = new Set<string>();
    for (const { participant, receiver } of this.receivers()) {
      if (seen.has(participant)) continue;
      seen.add(participant);
      let src: RTCRtpSynchronizationSource | undefined;
      try {
        src = receiver.getSynchronizationSources?.()[0];
      } catch {
        src = undefined;
      }
      // The browser's timestamp is on a clock of its own choosing: a packet
      // is recent when the timestamp moved since the last poll.
      const prev = this.last.get(participant);
      let at = prev?.at ?? -Infinity;
      if (src && (prev === undefined || src.timestamp !== prev.timestamp)) at = now;
      this.last.set(participant, { timestamp: src?.timestamp ?? NaN, at });
      samples.push({ participant, level: src?.audioLevel ?? 0, at });
    }
    for (const p of [...this.last.keys()]) if (!seen.has(p)) this.last.delete(p);
    const next = this.choice.update(now, samples);
    if (next.speaker !== this.state.speaker || !sameSet(next.speaking, this.state.speaking)) {
      this.state = next;
      this.changed(next);
    }
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
