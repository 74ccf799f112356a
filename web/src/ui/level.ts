// A microphone level meter for the pre-join check ("can they hear me?").

import { el } from "./dom.js";

export class LevelMeter {
  readonly root: HTMLDivElement;
  private readonly bar: HTMLDivElement;
  private ctx: AudioContext | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private frame = 0;

  constructor() {
    this.bar = el("div", { class: "level-bar" });
    this.root = el("div", { class: "level", attrs: { "aria-hidden": "true", title: "Microphone level" } }, this.bar);
  }

  /** Measures `track`, or nothing (null). */
  attach(track: MediaStreamTrack | null): void {
    this.detach();
    this.root.classList.toggle("idle", track === null);
    if (!track || typeof AudioContext === "undefined") return;
    try {
      this.ctx ??= new AudioContext();
      const analyser = this.ctx.createAnalyser();
      analyser.fftSize = 512;
      this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
      this.source.connect(analyser);
      const data = new Uint8Array(analyser.fftSize);
      const tick = () => {
        analyser.getByteTimeDomainData(data);
        let peak = 0;
        for (const v of data) peak = Math.max(peak, Math.abs(v - 128));
        this.bar.style.transform = `scaleX(${Math.min(1, (peak / 128) * 2.5).toFixed(3)})`;
        this.frame = requestAnimationFrame(tick);
      };
      tick();
    } catch (e) {
      console.warn("kaigi: no level meter:", e);
    }
  }

  /** Browsers start audio only after a click or key press; call this from one. */
  resume(): void {
    if (this.ctx && this.ctx.state === "suspended") void this.ctx.resume();
  }

  private detach(): void {
    cancelAnimationFrame(this.frame);
    this.source?.disconnect();
    this.source = null;
    this.bar.style.transform = "scaleX(0)";
  }

  close(): void {
    this.detach();
    void this.ctx?.close();
    this.ctx = null;
  }
}
