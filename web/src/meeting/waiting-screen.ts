// The waiting-room screen: the person is connected but not yet let in,
// because the host has not arrived or a host must admit them. Their camera
// preview stays on (so they can still fix their hair), and they can leave.

import type { LocalMedia } from "./devices.js";
import { blurFor } from "./background-blur.js";
import { el, replace, setPressed } from "../ui/dom.js";
import { icon } from "../ui/icons.js";
import { brandPage } from "../ui/screens.js";

const WORDS: Record<string, { title: string; text: string }> = {
  host_absent: {
    title: "Waiting for the host to start this meeting",
    text: "You will join as soon as the host arrives. Keep this page open.",
  },
  waiting_room: {
    title: "Please wait, the host will let you in soon",
    text: "The host has been told you are here.",
  },
};

export interface WaitingActions {
  leave(): void;
  toggleMic(): void;
  toggleCamera(): void;
}

export class WaitingScreen {
  readonly root: HTMLElement;
  private readonly title: HTMLHeadingElement;
  private readonly text: HTMLParagraphElement;
  private readonly status: HTMLParagraphElement;
  private readonly preview: HTMLVideoElement;
  private readonly previewOff: HTMLDivElement;
  private readonly mic: HTMLButtonElement;
  private readonly camera: HTMLButtonElement;

  constructor(
    meetingTitle: string,
    private readonly media: LocalMedia,
    actions: WaitingActions,
  ) {
    this.title = el("h1", { id: "waiting-title" });
    this.text = el("p", { class: "lead small" });
    this.status = el("p", { id: "waiting-status", class: "hint", attrs: { role: "status", "aria-live": "polite" } });
    this.preview = el("video", { class: "preview-video mirror", props: { muted: true, autoplay: true, playsInline: true } });
    this.preview.muted = true;
    this.preview.setAttribute("muted", "");
    this.preview.setAttribute("playsinline", "");
    this.previewOff = el("div", { class: "preview-off" }, el("p", { text: "Your camera is off" }));
    this.mic = el("button", { id: "waiting-mic", class: "control", attrs: { type: "button", "aria-label": "Microphone", "aria-pressed": "false" }, on: { click: () => actions.toggleMic() } });
    this.camera = el("button", { id: "waiting-camera", class: "control", attrs: { type: "button", "aria-label": "Camera", "aria-pressed": "false" }, on: { click: () => actions.toggleCamera() } });
    this.root = brandPage(
      "waiting",
      "waiting-page",
      el(
        "div",
        { class: "prejoin-grid waiting-grid" },
        el(
          "section",
          { class: "preview-card", attrs: { "aria-label": "Your camera" } },
          el("div", { class: "preview-box" }, this.preview, this.previewOff, el("div", { class: "preview-controls" }, this.mic, this.camera)),
        ),
        el(
          "section",
          { class: "join-card waiting-card", attrs: { "aria-labelledby": "waiting-title" } },
          el("div", { class: "waiting-icon", attrs: { "aria-hidden": "true" } }, icon("hourglass")),
          this.title,
          el("p", { class: "meeting-title-line", text: meetingTitle }),
          this.text,
          this.status,
          el("button", { id: "waiting-leave", class: "button", text: "Leave", attrs: { type: "button" }, on: { click: () => actions.leave() } }),
        ),
      ),
    );
  }

  /** Shows why the person waits ("host_absent" or "waiting_room"). */
  setReason(reason: string): void {
    const w = WORDS[reason] ?? WORDS.waiting_room!;
    this.root.dataset.reason = reason;
    this.title.textContent = w.title;
    this.text.textContent = w.text;
    document.title = "Waiting to join — Kaigi";
  }

  /** Whether the connection to the server is up (it reconnects by itself). */
  setConnected(up: boolean): void {
    this.status.textContent = up ? "" : "Connection lost — reconnecting…";
  }

  /** Mirrors the local camera and microphone. */
  render(): void {
    const m = this.media;
    for (const [b, on, onIcon, offIcon, what] of [
      [this.mic, m.mic !== null, "mic", "micOff", "microphone"],
      [this.camera, m.camera !== null, "camera", "cameraOff", "camera"],
    ] as const) {
      setPressed(b, on);
      b.classList.toggle("off", !on);
      b.title = on ? `Turn off the ${what}` : `Turn on the ${what}`;
      replace(b, icon(on ? onIcon : offIcon));
    }
    // With background blur on, the preview shows what the meeting will
    // get, as on the pre-join page: the blur's output, not the raw camera.
    const cam = blurFor(m).output(m.camera);
    const current = this.preview.srcObject instanceof MediaStream ? this.preview.srcObject.getVideoTracks()[0] : undefined;
    if (cam && current !== cam) {
      this.preview.srcObject = new MediaStream([cam]);
      this.preview.play().catch(() => {});
    } else if (!cam) {
      this.preview.srcObject = null;
    }
    this.preview.hidden = cam === null;
    this.previewOff.hidden = cam !== null;
  }

  /** Stops showing the camera (the meeting screen takes over). */
  detach(): void {
    this.preview.srcObject = null;
  }
}
