// Received sound: one hidden <audio> element per received audio track
// (microphones and screen audio), all playing on the chosen speaker.

import { applySpeaker } from "../meeting/devices.js";
import type { RemoteTrack } from "../meeting/call.js";
import { el } from "./dom.js";

export class RemoteAudio {
  readonly root: HTMLDivElement;
  private readonly elements = new Map<string, { track: MediaStreamTrack; audio: HTMLAudioElement }>();
  private blocked = false;

  /** `blocked` is told when the browser refuses to play sound until the person interacts with the page. */
  constructor(
    private speaker: string | null,
    private readonly onBlocked: (blocked: boolean) => void,
  ) {
    this.root = el("div", { id: "remote-audio", attrs: { hidden: true } });
  }

  /** Keeps exactly one element per received audio track. */
  sync(tracks: readonly RemoteTrack[]): void {
    const wanted = new Map<string, RemoteTrack>();
    for (const t of tracks) if (t.kind === "audio") wanted.set(t.mid, t);
    for (const [mid, e] of this.elements) {
      const w = wanted.get(mid);
      if (!w || w.track !== e.track) {
        e.audio.srcObject = null;
        e.audio.remove();
        this.elements.delete(mid);
      }
    }
    for (const [mid, t] of wanted) {
      const existing = this.elements.get(mid);
      if (existing) {
        existing.audio.dataset.participant = t.participant;
        existing.audio.dataset.source = t.source;
        continue;
      }
      const audio = el("audio", { props: { autoplay: true }, attrs: { "data-participant": t.participant, "data-source": t.source } });
      audio.srcObject = new MediaStream([t.track]);
      this.root.appendChild(audio);
      this.elements.set(mid, { track: t.track, audio });
      void applySpeaker(audio, this.speaker).then(() => this.play(audio));
    }
  }

  /** Plays everything on another speaker from now on (null: the system default). */
  setSpeaker(deviceId: string | null): void {
    this.speaker = deviceId;
    for (const e of this.elements.values()) void applySpeaker(e.audio, deviceId);
  }

  /** Tries again to play everything (call from a click or key press after a block). */
  resume(): void {
    this.setBlocked(false);
    for (const e of this.elements.values()) this.play(e.audio);
  }

  private play(audio: HTMLAudioElement): void {
    audio.play().catch((e: unknown) => {
      if (e instanceof DOMException && e.name === "NotAllowedError") this.setBlocked(true);
    });
  }

  private setBlocked(b: boolean): void {
    if (b === this.blocked) return;
    this.blocked = b;
    this.onBlocked(b);
  }

  clear(): void {
    this.sync([]);
  }
}
