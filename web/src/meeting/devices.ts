// The local camera, microphone and screen: getting tracks from the browser,
// stopping them (so the camera light goes off), the chosen devices and the
// lists to choose from. Shared by the pre-join and meeting screens, so the
// tracks the person checked before joining are the ones the meeting sends.

import { errorName, mediaProblem, type MediaProblem } from "../lib/media-errors.js";
import { loadDevicePrefs, saveDevicePrefs, type DevicePrefs } from "../lib/storage.js";

export type LocalSource = "microphone" | "camera" | "screen" | "screen-audio";

export interface DeviceLists {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export type ScreenResult = { ok: true } | { ok: false; cancelled: boolean; message: string };

export const speakerSelectionSupported: boolean =
  typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;

export const screenShareSupported: boolean =
  typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getDisplayMedia === "function";

function hasGetUserMedia(): boolean {
  return typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getUserMedia === "function";
}

export class LocalMedia {
  mic: MediaStreamTrack | null = null;
  camera: MediaStreamTrack | null = null;
  screen: MediaStreamTrack | null = null;
  screenAudio: MediaStreamTrack | null = null;
  readonly prefs: DevicePrefs = loadDevicePrefs();

  /**
   * Called when a track ends by itself: the person pressed the browser's own
   * "Stop sharing", or a device was unplugged or revoked.
   */
  onEnded: (source: LocalSource) => void = () => {};

  private audioConstraints(exact: boolean): MediaTrackConstraints {
    const c: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (this.prefs.microphone) c.deviceId = exact ? { exact: this.prefs.microphone } : { ideal: this.prefs.microphone };
    return c;
  }

  private videoConstraints(exact: boolean): MediaTrackConstraints {
    const c: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };
    if (this.prefs.camera) c.deviceId = exact ? { exact: this.prefs.camera } : { ideal: this.prefs.camera };
    return c;
  }

  /**
   * Starts the microphone and camera with one permission prompt. Returns the
   * problem with each, or null for the ones that work (or were not wanted).
   */
  async startBoth(wantMic: boolean, wantCamera: boolean): Promise<{ mic: MediaProblem | null; camera: MediaProblem | null }> {
    if (!wantMic || !wantCamera) {
      return {
        mic: wantMic ? await this.startMic() : null,
        camera: wantCamera ? await this.startCamera() : null,
      };
    }
    if (!hasGetUserMedia()) {
      const p = mediaProblem(null, "camera and microphone", true);
      return { mic: p, camera: p };
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: this.audioConstraints(false),
        video: this.videoConstraints(false),
      });
      this.replace("microphone", stream.getAudioTracks()[0] ?? null);
      this.replace("camera", stream.getVideoTracks()[0] ?? null);
      return { mic: null, camera: null };
    } catch (e) {
      const name = errorName(e);
      if (name === "NotAllowedError" || name === "SecurityError") {
        const p = mediaProblem(name, "camera and microphone");
        return { mic: p, camera: p };
      }
      // One of the two may be missing or busy: find out which.
      return { mic: await this.startMic(), camera: await this.startCamera() };
    }
  }

  /** Starts (or restarts, after a device change) the microphone. */
  async startMic(exact = false): Promise<MediaProblem | null> {
    if (!hasGetUserMedia()) return mediaProblem(null, "microphone", true);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: this.audioConstraints(exact) });
      this.replace("microphone", stream.getAudioTracks()[0] ?? null);
      return null;
    } catch (e) {
      return mediaProblem(errorName(e), "microphone");
    }
  }

  async startCamera(exact = false): Promise<MediaProblem | null> {
    if (!hasGetUserMedia()) return mediaProblem(null, "camera", true);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: this.videoConstraints(exact) });
      this.replace("camera", stream.getVideoTracks()[0] ?? null);
      return null;
    } catch (e) {
      return mediaProblem(errorName(e), "camera");
    }
  }

  stopMic(): void {
    this.replace("microphone", null);
  }

  stopCamera(): void {
    this.replace("camera", null);
  }

  /** Asks the person what to share; with the tab's or system's audio where the browser offers it. */
  async startScreen(): Promise<ScreenResult> {
    if (!screenShareSupported) return { ok: false, cancelled: false, message: "This browser cannot share the screen." };
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: true });
    } catch (e) {
      const name = errorName(e);
      if (name === "TypeError" || name === "NotSupportedError") {
        // Browsers that cannot capture audio may refuse the request outright.
        try {
          stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
        } catch (e2) {
          return screenFailure(errorName(e2));
        }
      } else {
        return screenFailure(name);
      }
    }
    const video = stream.getVideoTracks()[0] ?? null;
    if (!video) {
      for (const t of stream.getTracks()) t.stop();
      return { ok: false, cancelled: false, message: "The browser shared no picture." };
    }
    video.contentHint = "detail";
    this.replace("screen", video);
    this.replace("screen-audio", stream.getAudioTracks()[0] ?? null);
    return { ok: true };
  }

  stopScreen(): void {
    this.replace("screen", null);
    this.replace("screen-audio", null);
  }

  stopAll(): void {
    this.stopMic();
    this.stopCamera();
    this.stopScreen();
  }

  track(source: LocalSource): MediaStreamTrack | null {
    switch (source) {
      case "microphone":
        return this.mic;
      case "camera":
        return this.camera;
      case "screen":
        return this.screen;
      case "screen-audio":
        return this.screenAudio;
    }
  }

  /** Sets the track for a source, stopping the one it replaces. */
  private replace(source: LocalSource, track: MediaStreamTrack | null): void {
    const old = this.track(source);
    if (old === track) return;
    if (old) {
      old.onended = null;
      old.stop();
    }
    if (track) {
      track.onended = () => {
        if (this.track(source) !== track) return;
        this.replace(source, null);
        this.onEnded(source);
      };
    }
    switch (source) {
      case "microphone":
        this.mic = track;
        break;
      case "camera":
        this.camera = track;
        break;
      case "screen":
        this.screen = track;
        break;
      case "screen-audio":
        this.screenAudio = track;
        break;
    }
  }

  /** Remembers a device choice (null: the system default). */
  choose(kind: keyof DevicePrefs, deviceId: string | null): void {
    this.prefs[kind] = deviceId;
    saveDevicePrefs(this.prefs);
  }

  /** The device a running track actually uses, so the lists can show it selected. */
  deviceOf(source: "microphone" | "camera"): string | null {
    const t = source === "microphone" ? this.mic : this.camera;
    return t?.getSettings().deviceId ?? null;
  }
}

function screenFailure(name: string | null): ScreenResult {
  if (name === "NotAllowedError" || name === "AbortError") {
    // The person closed the picker, or the system refused: not worth a fuss.
    return { ok: false, cancelled: true, message: "Screen sharing was cancelled." };
  }
  return { ok: false, cancelled: false, message: "The screen could not be shared." };
}

/** The devices the browser lists. Labels are empty until a permission was granted. */
export async function listDevices(): Promise<DeviceLists> {
  const lists: DeviceLists = { cameras: [], microphones: [], speakers: [] };
  if (typeof navigator.mediaDevices?.enumerateDevices !== "function") return lists;
  let all: MediaDeviceInfo[];
  try {
    all = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return lists;
  }
  for (const d of all) {
    if (d.deviceId === "") continue;
    if (d.kind === "videoinput") lists.cameras.push(d);
    else if (d.kind === "audioinput") lists.microphones.push(d);
    else if (d.kind === "audiooutput") lists.speakers.push(d);
  }
  return lists;
}

/** Plays an element's audio on the chosen speaker, where the browser can. */
export async function applySpeaker(el: HTMLMediaElement, deviceId: string | null): Promise<void> {
  if (!speakerSelectionSupported) return;
  try {
    await el.setSinkId(deviceId ?? "");
  } catch (e) {
    console.warn("kaigi: could not select the speaker:", e);
  }
}
