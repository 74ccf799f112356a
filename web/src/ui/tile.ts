// One tile of the meeting: a participant's camera (or their initials when it
// is off), name and microphone state; or a screen share. Video elements are
// always muted: sound plays through separate audio elements (see audio.ts).
// A remote tile reports the size at which it draws the whole picture
// (lib/drawn-size.ts; debounced), so that the server forwards the simulcast
// layer that fits: 0×0 while the tile is off its gallery page, scrolled
// out of view, or the tab is hidden, so that nothing is sent for it then.

import { markTiming } from "../app.js";
import { drawnSize, fitOf, publisherAspect } from "../lib/drawn-size.js";
import { NOT_E2EE_HINT, NOT_E2EE_LABEL } from "../meeting/ingest.js";
import { hueOf, initials } from "../meeting/roster.js";
import { el } from "./dom.js";
import { icon } from "./icons.js";
import { MenuButton, type MenuItem } from "./menu.js";

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
  /**
   * The video (or, on a person's tile, their voice) decrypts under another
   * member's key than this participant's (end-to-end encryption): the
   * server may have swapped streams.
   */
  wrongKey?: boolean;
  /** A WHIP source: what it sends is not end-to-end encrypted (meeting/ingest.ts). */
  notE2EE?: boolean;
}

/** How long a tile's size must hold still before it is reported. */
const SIZE_DEBOUNCE_MS = 300;

/** Receives a video's drawn size in device pixels; 0×0 when it is not shown. */
export type SizeReport = (width: number, height: number) => void;

/** What a person can do with a tile (people tiles): its menu, and a double-click (pin). */
export interface TileActions {
  menu(): MenuItem[];
  doubleClick(): void;
}

export class Tile {
  readonly root: HTMLDivElement;
  private readonly video: HTMLVideoElement;
  private readonly avatar: HTMLDivElement;
  private readonly avatarText: HTMLSpanElement;
  private readonly nameEl: HTMLSpanElement;
  private readonly notE2EE: HTMLSpanElement;
  private readonly muted: HTMLSpanElement;
  private readonly status: HTMLDivElement;
  private readonly wrongKey: HTMLDivElement;
  private track: MediaStreamTrack | null = null;
  private readonly onTrackChange = () => this.refreshVideo();
  private last: TileState | null = null;
  private readonly resize: ResizeObserver | null = null;
  private sizeTimer: ReturnType<typeof setTimeout> | undefined;
  private sent: { track: MediaStreamTrack; width: number; height: number } | null = null;
  /** The publisher's aspect, from the first frames (null: not known yet). */
  private aspect: number | null = null;
  /** On the gallery page shown (the gallery takes a tile off the page, and out of the document, otherwise). */
  private onPage = true;
  /** In view, as far as an IntersectionObserver can tell (a strip scrolled past it is not). */
  private inView = true;
  private readonly intersection: IntersectionObserver | null = null;
  private readonly onVisibility = () => this.sizeChanged();
  private readonly onVideoResize = () => {
    const a = publisherAspect(this.aspect, this.video.videoWidth, this.video.videoHeight);
    if (a === this.aspect) return;
    this.aspect = a;
    this.sizeChanged();
  };

  constructor(
    screen: boolean,
    private readonly self: boolean,
    private readonly reportSize?: SizeReport,
    actions?: TileActions,
  ) {
    this.video = el("video", { class: "tile-video", props: { muted: true, autoplay: true, playsInline: true } });
    this.video.muted = true;
    this.video.setAttribute("muted", "");
    this.video.setAttribute("playsinline", "");
    this.avatarText = el("span", { class: "avatar-initials" });
    this.avatar = el("div", { class: "tile-avatar", attrs: { "aria-hidden": "true" } }, this.avatarText);
    this.nameEl = el("span", { class: "tile-name" });
    this.notE2EE = el("span", { class: "tile-badge tile-not-e2ee", text: NOT_E2EE_LABEL, attrs: { title: NOT_E2EE_HINT } });
    this.notE2EE.hidden = true;
    this.muted = el(
      "span",
      { class: "tile-muted", attrs: { title: "Microphone off" } },
      icon("micOff"),
      el("span", { class: "visually-hidden", text: "Microphone off" }),
    );
    this.status = el("div", { class: "tile-status", text: "Reconnecting…" });
    this.wrongKey = el("div", { class: "tile-status tile-wrong-key", attrs: { role: "alert" } });
    this.wrongKey.hidden = true;
    const label = el(
      "div",
      { class: "tile-label" },
      screen ? null : this.muted,
      this.nameEl,
      self && !screen ? el("span", { class: "tile-you", text: "(you)" }) : null,
      screen ? el("span", { class: "tile-badge", text: "Presenting" }) : null,
      this.notE2EE,
    );
    this.root = el(
      "div",
      { class: `tile${screen ? " screen" : ""}${self ? " self" : ""}`, attrs: { role: "group" } },
      this.video,
      this.avatar,
      this.status,
      this.wrongKey,
      label,
    );
    if (reportSize && typeof ResizeObserver !== "undefined") {
      this.resize = new ResizeObserver(() => this.sizeChanged());
      // The tile, not the video: the video is not laid out while it waits
      // for frames, and its size must be reported all the same.
      this.resize.observe(this.root);
    }
    if (reportSize) {
      this.video.addEventListener("resize", this.onVideoResize);
      document.addEventListener("visibilitychange", this.onVisibility);
      if (typeof IntersectionObserver !== "undefined") {
        this.intersection = new IntersectionObserver((entries) => {
          const e = entries.at(-1);
          if (!e) return;
          this.inView = e.isIntersecting;
          this.sizeChanged();
        });
        this.intersection.observe(this.root);
      }
    }
    if (actions) {
      const menu = new MenuButton({ label: "Tile options", content: [icon("more")], buttonClass: "icon-button tile-menu-button", items: () => actions.menu() });
      menu.root.classList.add("tile-menu");
      this.root.appendChild(menu.root);
      this.root.addEventListener("dblclick", (ev) => {
        if (ev.target instanceof Node && menu.root.contains(ev.target)) return;
        actions.doubleClick();
      });
    }
  }

  /** Whether the tile is on the gallery page shown; off it, it reports 0×0 at once. */
  setOnPage(on: boolean): void {
    if (on === this.onPage) return;
    this.onPage = on;
    if (on) this.sizeChanged();
    else {
      clearTimeout(this.sizeTimer);
      this.sendSize();
    }
  }

  /** The ring around a tile whose participant speaks. */
  setSpeaking(speaking: boolean): void {
    this.root.classList.toggle("speaking", speaking);
  }

  update(s: TileState): void {
    const cameraChanged = this.last?.videoOn !== s.videoOn;
    this.last = s;
    if (cameraChanged) this.sizeChanged();
    this.root.dataset.participant = s.participant;
    this.root.setAttribute("aria-label", s.screen ? `${s.name}'s screen` : s.self ? `${s.name} (you)` : s.name);
    this.nameEl.textContent = s.name;
    this.notE2EE.hidden = s.notE2EE !== true;
    this.avatarText.textContent = initials(s.name);
    this.root.style.setProperty("--hue", String(hueOf(s.participant || "self")));
    this.muted.hidden = s.audio;
    this.root.classList.toggle("muted", !s.audio);
    this.root.classList.toggle("reconnecting", s.connection === "reconnecting");
    this.status.hidden = s.connection !== "reconnecting";
    this.wrongKey.hidden = s.wrongKey !== true;
    this.wrongKey.textContent = s.wrongKey ? `What you ${s.screen ? "see" : "see or hear"} here is not encrypted with ${s.name}'s key: it may be someone else's.` : "";
    this.root.classList.toggle("wrong-key", s.wrongKey === true);
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
      // A new track is a new subscription on the server: tell it the size.
      this.sizeChanged();
    } else {
      this.video.srcObject = null;
    }
  }

  /** Shows the picture only while there is one: camera on, a track, and media arriving. */
  private refreshVideo(): void {
    const s = this.last;
    const t = this.track;
    const showing = s?.videoOn === true && t !== null && t.readyState === "live" && !t.muted;
    this.root.classList.toggle("video-on", showing);
    const wasHidden = this.video.hidden;
    this.video.hidden = !showing;
    this.avatar.hidden = showing;
    if (wasHidden !== this.video.hidden) this.sizeChanged();
    // A browser pauses a playing video taken out of the page, and autoplay
    // does not start it again when it comes back: the meeting screen is
    // taken out while the waiting screen shows, and a self-view started
    // before would stay on its first frames. Play it again.
    if (showing && this.video.paused && this.video.isConnected) {
      this.video.play().catch(() => {});
    }
  }

  /** Reports the video's size once it has held still for a moment. */
  private sizeChanged(): void {
    if (!this.reportSize) return;
    clearTimeout(this.sizeTimer);
    this.sizeTimer = setTimeout(() => this.sendSize(), SIZE_DEBOUNCE_MS);
  }

  private sendSize(): void {
    const track = this.track;
    if (!this.reportSize || !track) return;
    // Shown by where the tile is and whether the camera is on, never by
    // whether frames arrive: a server sends nothing for a hidden tile, so a
    // tile that waited for frames to say it is shown would wait for good.
    const shown = this.onPage && this.inView && this.root.isConnected && document.visibilityState !== "hidden" && this.last?.videoOn === true;
    // The video is not laid out until frames arrive; the tile's box is
    // the one it fills then.
    const box = this.video.hidden ? this.root : this.video;
    const { width, height } = drawnSize({
      boxWidth: box.clientWidth,
      boxHeight: box.clientHeight,
      aspect: publisherAspect(this.aspect, this.video.videoWidth, this.video.videoHeight) ?? 0,
      fit: shown ? fitOf(getComputedStyle(this.video).objectFit) : "cover",
      dpr: window.devicePixelRatio,
      shown,
    });
    const s = this.sent;
    if (s && s.track === track && s.width === width && s.height === height) return;
    this.sent = { track, width, height };
    this.reportSize(width, height);
  }

  destroy(): void {
    clearTimeout(this.sizeTimer);
    this.resize?.disconnect();
    this.intersection?.disconnect();
    this.video.removeEventListener("resize", this.onVideoResize);
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.setTrack(null);
    this.root.remove();
  }
}
