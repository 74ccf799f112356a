// One tile of the meeting: a participant's camera (or their initials when it
// is off), name and microphone state; or a screen share. Video elements are
// always muted: sound plays through separate audio elements (see audio.ts).

import { markTiming } from "../app.js";
import { hueOf, initials } from "../roster.js";
import { el } from "./dom.js";
import { icon } from "./icons.js";

export interface TileState {
  participant: string;
  name: string;
  self: boolean;
  screen: boolean;
  /** Microphone on (people tiles only). */
  audio: boolean;
  /** The participant says their camera is on (or is sharing, for screen tiles). */
  videoOn: boolean;
  track: MediaStreamTrack | null;
  connection: string;
}

export class Tile {
  readonly root: HTMLDivElement;
  private readonly video: HTMLVideoElement;
  private readonly avatar: HTMLDivElement;
  private readonly avatarText: HTMLSpanElement;
  private readonly nameEl: HTMLSpanElement;
  private readonly muted: HTMLSpanElement;
  private readonly status: HTMLDivElement;
  private track: MediaStreamTrack | null = null;
  private readonly onTrackChange = () => this.refreshVideo();
  private last: TileState | null = null;

  constructor(
    screen: boolean,
    private readonly self: boolean,
  ) {
    this.video = el("video", { class: "tile-video", props: { muted: true, autoplay: true, playsInline: true } });
    this.video.muted = true;
    this.video.setAttribute("muted", "");
    this.video.setAttribute("playsinline", "");
    this.avatarText = el("span", { class: "avatar-initials" });
    this.avatar = el("div", { class: "tile-avatar", attrs: { "aria-hidden": "true" } }, this.avatarText);
    this.nameEl = el("span", { class: "tile-name" });
    this.muted = el(
      "span",
      { class: "tile-muted", attrs: { title: "Microphone off" } },
      icon("micOff"),
      el("span", { class: "visually-hidden", text: "Microphone off" }),
    );
    this.status = el("div", { class: "tile-status", text: "Reconnecting…" });
    const label = el(
      "div",
      { class: "tile-label" },
      screen ? null : this.muted,
      this.nameEl,
      self && !screen ? el("span", { class: "tile-you", text: "(you)" }) : null,
      screen ? el("span", { class: "tile-badge", text: "Presenting" }) : null,
    );
    this.root = el(
      "div",
      { class: `tile${screen ? " screen" : ""}${self ? " self" : ""}`, attrs: { role: "group" } },
      this.video,
      this.avatar,
      this.status,
      label,
    );
  }

  update(s: TileState): void {
    this.last = s;
    this.root.dataset.participant = s.participant;
    this.root.setAttribute("aria-label", s.screen ? `${s.name}'s screen` : s.self ? `${s.name} (you)` : s.name);
    this.nameEl.textContent = s.name;
    this.avatarText.textContent = initials(s.name);
    this.root.style.setProperty("--hue", String(hueOf(s.participant || "self")));
    this.muted.hidden = s.audio;
    this.root.classList.toggle("muted", !s.audio);
    this.root.classList.toggle("reconnecting", s.connection === "reconnecting");
    this.status.hidden = s.connection !== "reconnecting";
    this.root.classList.toggle("mirror", s.self && !s.screen);
    this.setTrack(s.track);
    this.refreshVideo();
  }

  private setTrack(track: MediaStreamTrack | null): void {
    if (track === this.track) return;
    if (this.track) {
      this.track.removeEventListener("mute", this.onTrackChange);
      this.track.removeEventListener("unmute", this.onTrackChange);
      this.track.removeEventListener("ended", this.onTrackChange);
    }
    this.track = track;
    if (track) {
      track.addEventListener("mute", this.onTrackChange);
      track.addEventListener("unmute", this.onTrackChange);
      track.addEventListener("ended", this.onTrackChange);
      this.video.srcObject = new MediaStream([track]);
      if (!this.self) this.video.requestVideoFrameCallback?.(() => markTiming("firstRemoteFrame"));
      this.video.play().catch(() => {
        // Muted video may always play; a failure here means no frames yet.
      });
    } else {
      this.video.srcObject = null;
    }
  }

  /** Shows the picture only while there is one: camera on, a track, and media arriving. */
  private refreshVideo(): void {
    const s = this.last;
    const t = this.track;
    const showing = s !== null && s.videoOn && t !== null && t.readyState === "live" && !t.muted;
    this.root.classList.toggle("video-on", showing);
    this.video.hidden = !showing;
    this.avatar.hidden = showing;
  }

  destroy(): void {
    this.setTrack(null);
    this.root.remove();
  }
}
