// Background blur: what the person chose (remembered, like the devices) and
// which track goes out for the camera. With blur on, the camera's track is
// fed to a pipeline (blur-pipeline.ts) whose canvas track replaces it on the
// camera's sender (Call.setTrack, through the `camera` option) and in the
// self-view, so in an end-to-end encrypted meeting the blurred frames are
// what is encoded and then encrypted. Nothing is renegotiated.
//
// The rules, kept here apart from the DOM so they can be tested:
// - blur on and a camera running: one pipeline, fed the current camera track;
//   a switched camera is fed into the same pipeline (its output track stays,
//   so the sender sees no change);
// - from the first frame the pipeline sends the whole picture blurred, and
//   the person sharp only once the segmentation model runs: with blur on,
//   the room never sees the background unblurred while the model loads;
// - camera off (or stopped by anything), blur off, or the meeting over: the
//   pipeline stops, its worker and model go with it;
// - the model fails to load or run: the person is told, blur turns off for
//   this page (the remembered choice stays) and the plain camera goes out.

import { browserBlurEngine } from "./blur-pipeline.js";

export interface BlurPipeline {
  /** The processed track: the camera with its background blurred. */
  readonly output: MediaStreamTrack;
  /** Feeds another camera track (the camera was switched); the output track stays. */
  setSource(track: MediaStreamTrack): void;
  /** Stops processing and releases everything (the output track ends). */
  stop(): void;
}

export interface PipelineEvents {
  /** The model could not be loaded or run: the pipeline stopped itself. */
  failed(reason: string): void;
  /** The camera track ended (stopped without a new one): the pipeline stopped itself. */
  ended(): void;
}

/** Starts a pipeline on a camera track. */
export type BlurEngine = (source: MediaStreamTrack, events: PipelineEvents) => BlurPipeline;

/** Where the choice is kept. */
export interface BlurChoiceStore {
  load(): boolean;
  save(on: boolean): void;
}

const BLUR_KEY = "kaigi.blur";

/** The remembered choice in localStorage ("1" on, "0" off); without storage, off and not remembered. */
export const localBlurChoice: BlurChoiceStore = {
  load(): boolean {
    try {
      return globalThis.localStorage?.getItem(BLUR_KEY) === "1";
    } catch {
      return false;
    }
  },
  save(on: boolean): void {
    try {
      globalThis.localStorage?.setItem(BLUR_KEY, on ? "1" : "0");
    } catch {
      // not remembered
    }
  },
};

export class BackgroundBlur {
  /**
   * The output changed without a call to `output` (the pipeline failed, or
   * blur was turned on or off): put `output(camera)` on the sender and the
   * self-view again. `problem` is what to tell the person, if anything.
   * One owner at a time (the pre-join page, then the meeting), like LocalMedia.onEnded.
   */
  onChange: (problem: string | null) => void = () => {};
  private on: boolean;
  private pipeline: BlurPipeline | null = null;
  /** The camera track the pipeline is fed. */
  private source: MediaStreamTrack | null = null;

  constructor(
    private readonly engine: BlurEngine | null,
    private readonly store: BlurChoiceStore = localBlurChoice,
  ) {
    this.on = engine !== null && store.load();
  }

  /** Whether this browser can blur at all (the toggle is shown only then). */
  get supported(): boolean {
    return this.engine !== null;
  }

  /** Whether blur is on (the person's choice, unless the model failed on this page). */
  get enabled(): boolean {
    return this.on;
  }

  /** Whether a pipeline runs now (for tests and the debug hook). */
  get running(): boolean {
    return this.pipeline !== null;
  }

  /** Turns blur on or off and remembers the choice; then `onChange` so the owner puts the new output in place. */
  setEnabled(on: boolean): void {
    if (this.engine === null) return;
    this.store.save(on);
    if (on === this.on) return;
    this.on = on;
    if (!on) this.stopPipeline();
    this.onChange(null);
  }

  /**
   * The track to send and show for `camera` (null: the camera is off):
   * the pipeline's output with blur on, the camera itself otherwise. Starts,
   * feeds or stops the pipeline as needed; the same camera gives the same
   * track, so any number of callers may ask.
   */
  output(camera: MediaStreamTrack | null): MediaStreamTrack | null {
    if (!this.on || this.engine === null || camera === null || camera.readyState === "ended") {
      this.stopPipeline();
      return camera;
    }
    if (this.pipeline === null) {
      this.source = camera;
      let p: BlurPipeline | null = null;
      const mine = (): boolean => p !== null && this.pipeline === p;
      p = this.engine(camera, {
        failed: (reason) => {
          if (!mine()) return;
          this.pipeline = null;
          this.source = null;
          this.on = false; // for this page; the remembered choice stays
          this.onChange(`Background blur is not available (${reason}). Your camera is sent without it.`);
        },
        ended: () => {
          if (!mine()) return;
          this.pipeline = null;
          this.source = null;
        },
      });
      this.pipeline = p;
      return p.output;
    }
    if (this.source !== camera) {
      this.source = camera;
      this.pipeline.setSource(camera);
    }
    return this.pipeline.output;
  }

  /** Stops the pipeline (the meeting is over); the choice stays for next time. */
  close(): void {
    this.stopPipeline();
  }

  private stopPipeline(): void {
    const p = this.pipeline;
    this.pipeline = null;
    this.source = null;
    p?.stop();
  }
}

/** The blur of each LocalMedia, shared by the pre-join page and every session (breakout rooms too) that uses it. */
const blurs = new WeakMap<object, BackgroundBlur>();

/** The background blur that goes with `media` (created on first use). */
export function blurFor(media: object): BackgroundBlur {
  let b = blurs.get(media);
  if (!b) {
    b = new BackgroundBlur(browserBlurEngine());
    blurs.set(media, b);
  }
  return b;
}
