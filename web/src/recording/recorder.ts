// Records the meeting as this browser shows and hears it (docs/security.md,
// "Recording"): the videos on screen, already decrypted, drawn as a simple
// gallery on a 1280×720 canvas with the time in a corner, and every sound
// (the others' microphones and our own) mixed through WebAudio, into a
// MediaRecorder (WebM) that hands over a chunk every few seconds. The
// drawing is clocked by the audio graph as well as by a timer: a browser
// slows the timers of a tab in the background to once a second, not its
// audio. A frame that takes long to draw (a slow machine) spaces the
// next ones, so that drawing never takes more than a third of the page's
// time and the meeting stays usable. Each
// chunk is sealed with the recording's content key (crypto.ts) and queued
// for upload (uploader.ts). A chunk is held until the next one arrives, so
// that the last one, at the recorder's stop, is the one sealed as last.

import { encryptChunk, encryptManifest, type Manifest } from "./crypto.js";
import type { ChunkUploader } from "./uploader.js";

export const WIDTH = 1280;
export const HEIGHT = 720;
const FPS = 8;
const CHUNK_MS = 3000;

/** What the recording is made from. */
export interface RecordingSource {
  /** The videos to draw (those shown, with a picture). */
  videos(): HTMLVideoElement[];
  /** The audio tracks to mix (remote microphones and screens, our microphone). */
  audio(): MediaStreamTrack[];
}

/** The WebM type this browser records, or null if it cannot. */
export function recordingMimeType(): string | null {
  if (typeof MediaRecorder === "undefined") return null;
  for (const t of ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm"]) {
    if (MediaRecorder.isTypeSupported(t)) return t;
  }
  return null;
}

/** Where each of n videos goes on the canvas: a grid of equal cells. */
export function galleryCells(n: number, width = WIDTH, height = HEIGHT): { x: number; y: number; w: number; h: number }[] {
  if (n <= 0) return [];
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const w = Math.floor(width / cols);
  const h = Math.floor(height / rows);
  return Array.from({ length: n }, (_, i) => ({ x: (i % cols) * w, y: Math.floor(i / cols) * h, w, h }));
}

export class MeetingRecorder {
  private readonly canvas = document.createElement("canvas");
  private readonly ctx2d: CanvasRenderingContext2D;
  private readonly audioCtx = new AudioContext();
  private readonly mix = this.audioCtx.createMediaStreamDestination();
  private readonly mixed = new Set<string>();
  private readonly recorder: MediaRecorder;
  private readonly timer: number;
  private readonly started = Date.now();
  private held: Blob | null = null;
  private drawn = 0;
  /** The least time between two frames, from how long the last took to draw (ms). */
  private gap = 1000 / FPS;
  private next = 0;
  /** Sealing and queueing, in order. */
  private chain: Promise<void> = Promise.resolve();
  private stopped: Promise<void>;

  constructor(
    private readonly id: string,
    private readonly key: Uint8Array,
    private readonly source: RecordingSource,
    private readonly uploader: ChunkUploader,
    readonly mimeType: string,
  ) {
    this.canvas.width = WIDTH;
    this.canvas.height = HEIGHT;
    this.ctx2d = this.canvas.getContext("2d")!;
    this.draw();
    this.addAudio();
    const video = this.canvas.captureStream(FPS);
    this.timer = window.setInterval(() => {
      this.maybeDraw();
      this.addAudio();
    }, 1000 / FPS);
    // About 12 calls a second at 48 kHz; its output is silence.
    const clock = this.audioCtx.createScriptProcessor(4096, 1, 1);
    clock.onaudioprocess = () => this.maybeDraw();
    clock.connect(this.mix);
    void this.audioCtx.resume();
    const stream = new MediaStream([...video.getVideoTracks(), ...this.mix.stream.getAudioTracks()]);
    this.recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: 1_000_000, audioBitsPerSecond: 64_000 });
    this.recorder.ondataavailable = (ev) => this.chunk(ev.data, false);
    this.stopped = new Promise<void>((resolve) => {
      this.recorder.onstop = () => {
        this.chunk(null, true);
        void this.chain.then(resolve);
      };
    });
    this.recorder.start(CHUNK_MS);
  }

  /** Chunks made so far. */
  get chunks(): number {
    return this.next;
  }

  private chunk(data: Blob | null, last: boolean): void {
    const send = this.held;
    if (!last) {
      this.held = data;
      if (send === null) return;
    } else {
      // The last data event came before stop: it is the last chunk.
      this.held = null;
    }
    const n = this.next++;
    const blob = send ?? new Blob([]);
    this.chain = this.chain.then(async () => {
      const sealed = await encryptChunk(this.key, this.id, n, last, new Uint8Array(await blob.arrayBuffer()));
      this.uploader.add(n, sealed);
    });
  }

  private maybeDraw(): void {
    if (performance.now() - this.drawn >= this.gap - 10) this.draw();
  }

  private draw(): void {
    const start = performance.now();
    this.drawn = start;
    this.paint();
    this.gap = Math.max(1000 / FPS, 3 * (performance.now() - start));
  }

  private paint(): void {
    const g = this.ctx2d;
    g.fillStyle = "#202124";
    g.fillRect(0, 0, WIDTH, HEIGHT);
    const videos = this.source.videos().filter((v) => v.videoWidth > 0 && v.videoHeight > 0);
    const cells = galleryCells(videos.length);
    videos.forEach((v, i) => {
      const c = cells[i]!;
      const scale = Math.min(c.w / v.videoWidth, c.h / v.videoHeight);
      const w = v.videoWidth * scale;
      const h = v.videoHeight * scale;
      g.drawImage(v, c.x + (c.w - w) / 2, c.y + (c.h - h) / 2, w, h);
    });
    const secs = Math.floor((Date.now() - this.started) / 1000);
    g.fillStyle = "rgba(0,0,0,0.5)";
    g.fillRect(WIDTH - 110, HEIGHT - 40, 100, 30);
    g.fillStyle = "#ffffff";
    g.font = "20px sans-serif";
    g.fillText(`${String(Math.floor(secs / 60)).padStart(2, "0")}:${String(secs % 60).padStart(2, "0")}`, WIDTH - 95, HEIGHT - 18);
  }

  private addAudio(): void {
    for (const t of this.source.audio()) {
      if (t.readyState !== "live" || this.mixed.has(t.id)) continue;
      this.mixed.add(t.id);
      this.audioCtx.createMediaStreamSource(new MediaStream([t])).connect(this.mix);
    }
  }

  /** Pauses recording (gate.ts: the group no longer says this browser records); nothing is recorded until resume. */
  pause(): void {
    if (this.recorder.state === "recording") this.recorder.pause();
  }

  resume(): void {
    if (this.recorder.state === "paused") this.recorder.resume();
  }

  /**
   * Stops recording: seals the last chunk, waits for every chunk to be
   * uploaded, and finishes the recording with its sealed manifest (finish
   * is the API call). Rejects if an upload was refused.
   */
  async stop(finish: (chunks: number, manifest: Uint8Array) => Promise<void>): Promise<number> {
    if (this.recorder.state !== "inactive") this.recorder.stop();
    await this.stopped;
    window.clearInterval(this.timer);
    for (const t of this.recorder.stream.getTracks()) t.stop();
    void this.audioCtx.close();
    await this.uploader.drained();
    const m: Manifest = { v: 1, chunks: this.next, mimeType: this.mimeType, durationMs: Date.now() - this.started };
    await finish(this.next, await encryptManifest(this.key, this.id, m));
    return this.next;
  }
}
