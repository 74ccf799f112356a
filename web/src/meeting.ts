// The meeting screen: the gallery of tiles (screen shares first, in the
// spotlight), the controls bar, the participants panel, and the banners for
// joining and reconnecting. The rules live in session.ts; this module turns
// the session's state into DOM.

import { setDebugSource, setState, showScreen } from "./app.js";
import type { LocalMedia } from "./devices.js";
import { screenShareSupported } from "./devices.js";
import { copyText } from "./clipboard.js";
import { bestGrid } from "./layout.js";
import { MeetingSession, type SessionStatus, type SessionView } from "./session.js";
import { mediaByParticipant } from "./tracks.js";
import { RemoteAudio } from "./ui/audio.js";
import { el, replace, setPressed, show } from "./ui/dom.js";
import { icon, type IconName } from "./ui/icons.js";
import { ParticipantsPanel } from "./ui/participants.js";
import { fatalScreen, leftScreen, type Action } from "./ui/screens.js";
import { Tile, type TileState } from "./ui/tile.js";

export interface MeetingOptions {
  meetingId: string;
  name: string;
  media: LocalMedia;
  /** Back to the pre-join screen, to pick another name after `bad_name`. */
  changeName: () => void;
}

/** Shows the meeting screen and joins. `notices` are shown once it is up (e.g. a device that did not start on a rejoin). */
export function startMeeting(opts: MeetingOptions, notices: string[] = []): void {
  const screen = new MeetingScreen(opts);
  for (const n of notices) screen.notice(n);
  screen.start();
}

const TOAST_MS = 6000;

interface ControlButton {
  button: HTMLButtonElement;
  set(on: boolean, busy: boolean): void;
}

function controlButton(id: string, label: string, onIcon: IconName, offIcon: IconName, titles: [on: string, off: string]): ControlButton {
  const button = el("button", { id, class: "control", attrs: { type: "button", "aria-label": label, "aria-pressed": "false" } });
  return {
    button,
    set(on, busy) {
      setPressed(button, on);
      button.classList.toggle("off", !on);
      button.title = on ? titles[0] : titles[1];
      if (busy) button.setAttribute("aria-busy", "true");
      else button.removeAttribute("aria-busy");
      replace(button, icon(on ? onIcon : offIcon));
    },
  };
}

class MeetingScreen implements SessionView {
  private readonly session: MeetingSession;
  private readonly root: HTMLElement;
  private readonly banner: HTMLDivElement;
  private readonly toast: HTMLDivElement;
  private readonly soundBlocked: HTMLButtonElement;
  private readonly stage: HTMLDivElement;
  private readonly spotlight: HTMLDivElement;
  private readonly gallery: HTMLDivElement;
  private readonly panel: ParticipantsPanel;
  private readonly audio: RemoteAudio;
  private readonly tiles = new Map<string, Tile>();
  private readonly mic: ControlButton;
  private readonly camera: ControlButton;
  private readonly screenButton: ControlButton;
  private readonly peopleButton: HTMLButtonElement;
  private readonly peopleCount: HTMLSpanElement;
  private readonly resizer: ResizeObserver;
  private toastTimer: number | undefined;
  private finished = false;
  private panelOpen = false;

  constructor(private readonly opts: MeetingOptions) {
    this.session = new MeetingSession(opts.meetingId, opts.name, opts.media, this);

    this.banner = el("div", { id: "banner", class: "banner", attrs: { role: "status", "aria-live": "polite" } });
    show(this.banner, false);
    this.toast = el("div", { id: "notice", class: "toast", attrs: { role: "status", "aria-live": "polite" } });
    show(this.toast, false);
    this.soundBlocked = el("button", {
      id: "enable-sound",
      class: "button primary sound-blocked",
      text: "The browser blocked the sound — click to turn it on",
      attrs: { type: "button" },
      on: { click: () => this.audio.resume() },
    });
    show(this.soundBlocked, false);

    this.spotlight = el("div", { class: "spotlight", attrs: { "aria-label": "Screen shares", role: "region" } });
    this.gallery = el("div", { id: "gallery", class: "gallery", attrs: { "aria-label": "Participants' video", role: "region" } });
    this.panel = new ParticipantsPanel(() => this.setPanel(false));
    this.stage = el("div", { class: "stage" }, el("div", { class: "tiles" }, this.spotlight, this.gallery), this.panel.root);

    this.mic = controlButton("toggle-mic", "Microphone", "mic", "micOff", ["Turn off the microphone (Ctrl+D)", "Turn on the microphone (Ctrl+D)"]);
    this.camera = controlButton("toggle-camera", "Camera", "camera", "cameraOff", ["Turn off the camera (Ctrl+E)", "Turn on the camera (Ctrl+E)"]);
    this.screenButton = controlButton("toggle-screen", "Share screen", "screenStop", "screen", ["Stop sharing your screen", "Share your screen"]);
    this.mic.button.addEventListener("click", () => void this.session.setMic(this.opts.media.mic === null));
    this.camera.button.addEventListener("click", () => void this.session.setCamera(this.opts.media.camera === null));
    this.screenButton.button.addEventListener("click", () => void this.session.setScreen(this.opts.media.screen === null));
    if (!screenShareSupported) {
      this.screenButton.button.disabled = true;
      this.screenButton.button.title = "This browser cannot share the screen";
    }

    this.peopleCount = el("span", { class: "badge", attrs: { "aria-hidden": "true" } });
    this.peopleButton = el(
      "button",
      {
        id: "toggle-participants",
        class: "control",
        attrs: { type: "button", "aria-label": "Participants", "aria-pressed": "false", "aria-expanded": "false", "aria-controls": "participants", title: "Show everyone" },
        on: { click: () => this.setPanel(!this.panelOpen) },
      },
      icon("people"),
      this.peopleCount,
    );
    const leave = el(
      "button",
      { id: "leave", class: "control leave", attrs: { type: "button", "aria-label": "Leave the meeting", title: "Leave the meeting" }, on: { click: () => this.leave() } },
      icon("leave"),
    );
    const copyLink = el(
      "button",
      { id: "copy-meeting-link", class: "icon-button", attrs: { type: "button", "aria-label": "Copy the meeting link", title: "Copy the meeting link" } },
      icon("copy"),
    );
    const copyStatus = el("span", { class: "copy-status", attrs: { "aria-live": "polite" } });
    copyLink.addEventListener("click", async () => {
      const ok = await copyText(`${location.origin}/m/${this.opts.meetingId}`);
      copyStatus.textContent = ok ? "Link copied" : "Copy the address from the address bar";
      window.setTimeout(() => (copyStatus.textContent = ""), 3000);
    });

    const controls = el(
      "div",
      { class: "controls" },
      el(
        "div",
        { class: "controls-info" },
        el("span", { class: "meeting-id", text: opts.meetingId }),
        copyLink,
        copyStatus,
      ),
      el(
        "div",
        { class: "controls-main", attrs: { role: "toolbar", "aria-label": "Meeting controls" } },
        this.mic.button,
        this.camera.button,
        this.screenButton.button,
        this.peopleButton,
        leave,
      ),
      el("div", { class: "controls-end" }),
    );

    this.audio = new RemoteAudio(opts.media.prefs.speaker, (blocked) => show(this.soundBlocked, blocked));

    this.root = el(
      "main",
      { id: "meeting", class: "meeting" },
      el("h1", { class: "visually-hidden", text: "Meeting" }),
      this.banner,
      this.soundBlocked,
      this.stage,
      controls,
      this.toast,
      this.audio.root,
    );

    this.resizer = new ResizeObserver(() => this.layoutGallery());
    this.resizer.observe(this.gallery);
    document.addEventListener("keydown", this.onKey);
    window.addEventListener("pagehide", this.onPageHide);
    document.addEventListener("click", this.onAnyClick, true);
  }

  start(): void {
    setDebugSource({ selfId: () => this.session.selfId, stats: () => this.session.stats() });
    document.title = "Meeting — Kaigi";
    showScreen(this.root);
    this.localChanged();
    this.rosterChanged();
    this.session.start();
  }

  // ---- SessionView --------------------------------------------------------------

  status(s: SessionStatus, detail?: { message?: string; retryInMs?: number }): void {
    if (this.finished) return;
    setState(s);
    this.root.dataset.status = s;
    if (s === "in-meeting") {
      show(this.banner, false);
      this.banner.removeAttribute("data-kind");
      return;
    }
    const text =
      s === "reconnecting"
        ? "Connection lost — reconnecting…"
        : detail?.retryInMs !== undefined
          ? "Can't reach the meeting — trying again…"
          : "Joining the meeting…";
    this.banner.dataset.kind = s;
    replace(this.banner, el("span", { class: "spinner", attrs: { "aria-hidden": "true" } }), el("span", { text }), detail?.message ? el("span", { class: "banner-detail", text: detail.message }) : null);
    show(this.banner, true);
    if (s === "reconnecting") {
      this.audio.clear();
      this.renderTiles();
    }
  }

  rosterChanged(): void {
    if (this.finished) return;
    const people = this.session.roster.list();
    this.panel.render(people, this.session.selfId, this.session.state, this.opts.name);
    const n = Math.max(people.length, 1);
    this.peopleCount.textContent = String(n);
    this.peopleButton.title = `Show everyone (${n})`;
    this.renderTiles();
  }

  remoteChanged(): void {
    if (this.finished) return;
    this.audio.sync(this.session.remoteTracks());
    this.renderTiles();
  }

  localChanged(): void {
    if (this.finished) return;
    const m = this.opts.media;
    this.mic.set(m.mic !== null, this.session.isBusy("mic"));
    this.camera.set(m.camera !== null, this.session.isBusy("camera"));
    this.screenButton.set(m.screen !== null, this.session.isBusy("screen"));
    this.renderTiles();
  }

  fatal(code: string, message: string): void {
    this.finish();
    setState("error");
    const again: Action = { id: "retry", label: "Try again", run: () => this.rejoin() };
    let actions: Action[];
    switch (code) {
      case "meeting_not_found":
        actions = [];
        break;
      case "bad_name":
        actions = [{ id: "change-name", label: "Choose another name", run: this.opts.changeName }];
        break;
      case "unsupported_version":
        actions = [{ id: "reload", label: "Reload the page", run: () => location.reload() }];
        break;
      case "replaced":
        actions = [{ ...again, label: "Use Kaigi here instead" }];
        break;
      default:
        actions = [again];
    }
    showScreen(fatalScreen(code, message, actions));
  }

  notice(text: string): void {
    this.toast.textContent = text;
    show(this.toast, true);
    window.clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => show(this.toast, false), TOAST_MS);
  }

  // ---- rendering --------------------------------------------------------------------

  private renderTiles(): void {
    if (this.finished) return;
    const s = this.session;
    const m = this.opts.media;
    const selfId = s.selfId;
    const local = s.state;
    const received = mediaByParticipant(s.remoteTracks());
    const selfName = (selfId !== null ? s.roster.get(selfId)?.name : undefined) ?? this.opts.name;

    const people: [string, TileState][] = [
      ["self", { participant: selfId ?? "", name: selfName, self: true, screen: false, audio: local.audio, videoOn: local.video, track: m.camera, connection: "connected" }],
    ];
    const screens: [string, TileState][] = [];
    if (m.screen) {
      screens.push(["screen:self", { participant: selfId ?? "", name: selfName, self: true, screen: true, audio: true, videoOn: true, track: m.screen, connection: "connected" }]);
    }
    for (const p of s.roster.list()) {
      if (p.id === selfId) continue;
      const media = received.get(p.id) ?? {};
      people.push([
        `p:${p.id}`,
        { participant: p.id, name: p.name, self: false, screen: false, audio: p.audio, videoOn: p.video, track: media.camera?.track ?? null, connection: p.connection },
      ]);
      if (media.screen || p.screen) {
        screens.push([
          `s:${p.id}`,
          { participant: p.id, name: p.name, self: false, screen: true, audio: true, videoOn: true, track: media.screen?.track ?? null, connection: p.connection },
        ]);
      }
    }

    const wanted = new Set([...people, ...screens].map(([k]) => k));
    for (const [key, tile] of this.tiles) {
      if (!wanted.has(key)) {
        tile.destroy();
        this.tiles.delete(key);
      }
    }
    this.place(this.spotlight, screens);
    this.place(this.gallery, people);
    this.stage.classList.toggle("has-spotlight", screens.length > 0);
    show(this.spotlight, screens.length > 0);
    this.gallery.dataset.count = String(people.length);
    this.layoutGallery();
  }

  /** Puts the tiles in `container` in the given order, creating and updating them. */
  private place(container: HTMLElement, list: [string, TileState][]): void {
    const roots: HTMLElement[] = [];
    for (const [key, state] of list) {
      let tile = this.tiles.get(key);
      if (!tile) {
        tile = new Tile(state.screen, state.self);
        this.tiles.set(key, tile);
      }
      tile.update(state);
      roots.push(tile.root);
    }
    const current = [...container.children];
    const same = current.length === roots.length && current.every((c, i) => c === roots[i]);
    if (!same) for (const r of roots) container.appendChild(r); // moves; no re-creation, so video keeps playing
  }

  private layoutGallery(): void {
    const n = this.gallery.children.length;
    const r = this.gallery.getBoundingClientRect();
    const g = bestGrid(n, r.width, r.height);
    this.gallery.style.setProperty("--cols", String(g.cols));
    this.gallery.style.setProperty("--rows", String(g.rows));
  }

  private setPanel(open: boolean): void {
    this.panelOpen = open;
    show(this.panel.root, open);
    setPressed(this.peopleButton, open);
    this.peopleButton.setAttribute("aria-expanded", open ? "true" : "false");
    this.stage.classList.toggle("with-panel", open);
    if (open) this.panel.root.querySelector<HTMLElement>("button")?.focus();
    else if (this.root.contains(document.activeElement) || document.activeElement === document.body) this.peopleButton.focus();
    this.layoutGallery();
  }

  // ---- leaving --------------------------------------------------------------------------

  private leave(): void {
    this.session.leave();
    this.finish();
    setState("left");
    showScreen(leftScreen(() => this.rejoin()));
  }

  /** Joins again with the same name and the devices that were on. */
  private rejoin(): void {
    const was = this.session.endState ?? { audio: false, video: false, screen: false };
    setState("joining");
    void this.opts.media.startBoth(was.audio, was.video).then((p) => {
      const notices = [p.mic, p.camera].filter((x) => x !== null).map((x) => x.message);
      startMeeting(this.opts, [...new Set(notices)]);
    });
  }

  /** Tears down the screen's listeners; the session has ended (or is ending). */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.resizer.disconnect();
    document.removeEventListener("keydown", this.onKey);
    window.removeEventListener("pagehide", this.onPageHide);
    document.removeEventListener("click", this.onAnyClick, true);
    window.clearTimeout(this.toastTimer);
    for (const t of this.tiles.values()) t.destroy();
    this.tiles.clear();
    this.audio.clear();
  }

  private readonly onKey = (ev: KeyboardEvent): void => {
    if (!(ev.ctrlKey || ev.metaKey) || ev.altKey || ev.shiftKey) return;
    const key = ev.key.toLowerCase();
    if (key === "d") {
      ev.preventDefault();
      void this.session.setMic(this.opts.media.mic === null);
    } else if (key === "e") {
      ev.preventDefault();
      void this.session.setCamera(this.opts.media.camera === null);
    }
  };

  private readonly onPageHide = (): void => {
    this.session.pageHidden();
  };

  /** Any click counts as the interaction a browser wants before it plays sound. */
  private readonly onAnyClick = (): void => {
    if (!this.soundBlocked.hidden) this.audio.resume();
  };
}
