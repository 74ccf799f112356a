// The meeting screen: the gallery of tiles (screen shares first, in the
// spotlight), the controls bar with the host's tools (ui/controls-bar.ts),
// the side panels: participants, chat, encryption (ui/side-panels.ts), the
// banners for joining and reconnecting, the encryption banner (a meeting
// that is not end-to-end encrypted, or a server that says so against the
// invite), and the waiting-room screen (waiting-screen.ts) before a host
// lets the person in. The rules live in session.ts; this module turns the
// session's state into DOM.

import { setDebugSource, setState, showScreen } from "../app.js";
import type { LocalMedia } from "./devices.js";
import { screenShareSupported } from "./devices.js";
import { copyText } from "../lib/clipboard.js";
import { inviteLink } from "../lib/invite.js";
import { signInPath } from "../lib/navigation.js";
import { isModerator, type MenuAction } from "./permissions.js";
import { nameProblem, NAME_MAX, type BreakoutBroadcast, type Participant, type WaitingEntry } from "./protocol.js";
import { IN_MEETING_FIELDS } from "./settings.js";
import { MeetingSession, type SessionStatus, type SessionView } from "./session.js";
import type { TabResume } from "./resume.js";
import { mediaByParticipant } from "./tracks.js";
import { RemoteAudio } from "../ui/audio.js";
import { openDialog } from "../ui/dialog.js";
import { ControlsBar } from "../ui/controls-bar.js";
import { openDeviceSettings } from "../ui/device-settings.js";
import { el, replace, show } from "../ui/dom.js";
import { checkbox, field } from "../ui/forms.js";
import { ingestPanel } from "../ui/ingest-panel.js";
import { fatalScreen, leftScreen, type Action } from "../ui/screens.js";
import { SettingsForm } from "../ui/meeting-settings-form.js";
import { EncryptionBanners } from "../ui/encryption-banners.js";
import { attachRecording } from "../recording/in-meeting.js";
import { Gallery, tilesOf } from "../ui/gallery.js";
import { groupProblems } from "../ui/security.js";
import { SidePanels, type Side } from "../ui/side-panels.js";
import type { SecureMeeting } from "./secure.js";
import type { SendPolicy } from "./send-policy.js";
import { WaitingScreen } from "./waiting-screen.js";
import { ActiveSpeaker } from "./active-speaker.js";
import { Spotlight } from "./spotlight.js";
import { LayoutControls } from "../ui/layout-controls.js";
import { InteractionsScreen } from "./interactions-screen.js";
import type { BreakoutStatus, Move } from "./breakouts.js";
import { BreakoutScreen } from "./breakout-screen.js";
import { AdminNoticeBanner } from "./admin-notice.js";

export interface MeetingOptions {
  meetingId: string;
  /** The meeting's title, for the waiting screen. */
  title: string;
  name: string;
  /** The passcode to send in hello (null when none is needed or known). */
  passcode: string | null;
  /** The meeting's address and the passcode its invite link carries (null when none), for the link to share. */
  invite: { url: string; passcode: string | null };
  /** The browser's own ID (storage.deviceId). */
  device: string;
  media: LocalMedia;
  /** Back to the pre-join screen, to pick another name after `bad_name`. */
  changeName: () => void;
  /** Back to the pre-join screen's passcode field, with the server's words. */
  wrongPasscode: (message: string) => void;
  /** End-to-end encryption for this session (null: this browser cannot). */
  secure: SecureMeeting | null;
  /** Whether end-to-end encryption is expected here (kept across rejoins). */
  policy: SendPolicy;
  /** The tab's resume token, for coming back after a reload. */
  resume?: TabResume;
  /** Entering a room by a move (breakouts.ts): its token, the room (0: the main room) and its name. */
  move?: { token: string; room: number; name: string };
}

/** Shows the meeting screen and joins. `notices` are shown once it is up (e.g. a device that did not start on a rejoin). */
export function startMeeting(opts: MeetingOptions, notices: string[] = []): void {
  const screen = new MeetingScreen(opts);
  for (const n of notices) screen.notice(n);
  screen.start();
}

const TOAST_MS = 6000;
/** How long a warning about the encrypted group stays in the alert over the meeting. */
const ALERT_WARNINGS_MS = 5 * 60_000;

class MeetingScreen implements SessionView {
  /** Moves between rooms, and the host's breakout rooms (breakout-screen.ts). */
  private readonly rooms: BreakoutScreen;
  private readonly session: MeetingSession;
  private readonly root: HTMLElement;
  private readonly banner: HTMLDivElement;
  /** What may be sent, and problems with who holds the keys: on every member's screen. */
  private readonly banners: EncryptionBanners;
  private readonly toast: HTMLDivElement;
  private readonly soundBlocked: HTMLButtonElement;
  /** #media-problem: media does not connect (media-health.ts), with what to try. */
  private readonly mediaProblem = el("div", { id: "media-problem", class: "encryption-banner", attrs: { role: "alert", "data-kind": "media", hidden: true } });
  private readonly adminBanner = new AdminNoticeBanner();
  private readonly stage: HTMLDivElement;
  private readonly gallery: Gallery;
  private readonly panels: SidePanels;
  private readonly controls: ControlsBar;
  /** Gallery or speaker view, and full screen (ui/layout-controls.ts). */
  private readonly layoutControls: LayoutControls;
  /** Who speaks, from the microphones' audio levels (active-speaker.ts). */
  private readonly activeSpeaker: ActiveSpeaker;
  /** A host's spotlight for everyone (spotlight.ts; end-to-end encrypted meetings only). */
  private readonly spotlight: Spotlight | null;
  /** Reactions, raised hands and polls (interactions-screen.ts). */
  private readonly extras: InteractionsScreen;
  private chatSeen = 0;
  private readonly audio: RemoteAudio;
  private waitingScreen: WaitingScreen | null = null;
  private toastTimer: number | undefined;
  private finished = false;

  /** What the person was last told about: their role, and whether the meeting is locked. */
  private lastRole: string | null = null;
  private lastLocked: boolean | null = null;

  constructor(private readonly opts: MeetingOptions) {
    this.session = new MeetingSession(
      {
        meetingId: opts.meetingId,
        name: opts.name,
        passcode: opts.passcode,
        device: opts.device,
        media: opts.media,
        secure: opts.secure,
        policy: opts.policy,
        ...(opts.resume && !opts.move ? { resume: opts.resume } : {}),
        ...(opts.move ? { move: { token: opts.move.token, room: opts.move.room } } : {}),
      },
      this,
    );

    this.banner = el("div", { id: "banner", class: "banner", attrs: { role: "status", "aria-live": "polite" } });
    show(this.banner, false);
    this.banners = new EncryptionBanners({ leave: () => this.leave(), details: () => this.setSide("security") });
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

    this.gallery = new Gallery({
      reportSize: (participant, source, width, height) => this.session.videoSize(participant, source, width, height),
      maySpotlight: () => this.spotlight !== null && this.session.e2ee && isModerator(this.session.role),
      spotlight: (participant) => this.spotlight?.set(participant),
      layoutChanged: () => this.layoutChanged(),
    });
    this.panels = this.sidePanels();
    this.stage = el("div", { class: "stage" }, this.gallery.root, ...this.panels.roots);
    this.controls = this.controlsBar();
    this.layoutControls = new LayoutControls({
      toggleLayout: () => this.gallery.setMode(this.gallery.mode === "speaker" ? "gallery" : "speaker"),
      toggleFullscreen: () => this.toggleFullscreen(),
      isFullscreen: () => document.fullscreenElement === this.root,
    });
    this.controls.addMenuItems(() => this.layoutControls.items());
    this.activeSpeaker = new ActiveSpeaker(() => this.session.microphones(), (s) => this.gallery.setSpeakers(s));
    this.spotlight = opts.secure
      ? new Spotlight(
          opts.secure,
          { selfId: () => this.session.selfId, role: (p) => this.session.roster.get(p)?.role },
          () => this.gallery.setSpotlight(this.spotlight?.participant ?? null),
          (text) => this.notice(text),
        )
      : null;
    this.extras = new InteractionsScreen({
      session: this.session,
      channel: opts.secure,
      root: this.stage,
      gallery: this.gallery.root,
      people: this.panels.people.root,
      notice: (text) => this.notice(text),
      showPeople: () => this.setPanel(true),
      pollsWaiting: (count) => this.controls.setMoreAttention(count),
      pollsClosed: () => this.controls.more.button.focus(),
    });
    this.controls.addControls(...this.extras.controls);
    this.controls.addMenuItems(() => this.extras.menuItems());
    this.audio = new RemoteAudio(opts.media.prefs.speaker, (blocked) => show(this.soundBlocked, blocked));

    this.root = el(
      "main",
      { id: "meeting", class: "meeting" },
      el("h1", { class: "visually-hidden", text: "Meeting" }),
      this.banners.sending,
      this.banners.group,
      this.banner,
      this.soundBlocked,
      this.stage,
      this.controls.root,
      this.controls.hostTools.arrivals,
      this.toast,
      ...this.extras.overlays,
      this.audio.root,
    );
    this.rooms = new BreakoutScreen({
      meetingId: opts.meetingId,
      root: this.root,
      session: this.session,
      secure: opts.secure,
      notice: (text) => this.notice(text),
      enter: (secure, move, notice) => this.enterRoom(secure, move, notice),
    });

    document.addEventListener("keydown", this.onKey);
    window.addEventListener("pagehide", this.onPageHide);
    document.addEventListener("click", this.onAnyClick, true);
  }

  /** The participants, chat and encryption panels, and what their buttons do. */
  private sidePanels(): SidePanels {
    return new SidePanels({
      people: {
        participant: (action, p) => void this.participantAction(action, p),
        admit: (id) => this.session.host.admit(id),
        deny: (id) => this.session.host.deny(id),
        admitAll: () => this.session.host.admitAll(),
        denyAll: () => this.session.host.denyAll(),
        muteAll: () => this.session.host.muteAll(),
      },
      chat: { send: (text, to) => this.session.sendChat(text, to) },
      security: {
        verification: (m) => this.opts.secure!.verification(m),
        verify: (m) => this.opts.secure!.markVerified(m),
        forget: (m) => this.opts.secure!.forget(m),
      },
      close: () => this.setSide(null),
    });
  }

  /** The controls bar, and what its buttons do. */
  private controlsBar(): ControlsBar {
    return new ControlsBar(this.opts.meetingId, {
      toggleMic: () => void this.session.setMic(this.opts.media.mic === null),
      toggleCamera: () => void this.session.setCamera(this.opts.media.camera === null),
      toggleScreen: () => void this.session.setScreen(this.opts.media.screen === null),
      togglePeople: () => this.setPanel(this.panels.showing !== "people"),
      toggleChat: () => this.setSide(this.panels.showing === "chat" ? null : "chat"),
      toggleSecurity: () => this.setSide(this.panels.showing === "security" ? null : "security"),
      openDevices: () => void this.openDevices(),
      leave: () => this.leave(),
      copyLink: () => {
        const { url, passcode } = this.opts.invite;
        return copyText(inviteLink(url, { passcode, e2ee: this.session.expectsE2ee }));
      },
      lock: (locked) => this.session.host.lock(locked),
      openSettings: () => void this.openSettings(),
      openBreakouts: () => void this.rooms.open(),
      endForAll: () => void this.confirmEnd(),
      admit: (id) => this.session.host.admit(id),
      showWaitingRoom: () => {
        this.setPanel(true);
        this.panels.people.focusWaitingRoom();
      },
    });
  }

  /** The camera, microphone and speaker choice, applied as the person picks. */
  private async openDevices(): Promise<void> {
    const media = this.opts.media;
    await openDeviceSettings(this.root, {
      current: (kind) => (kind === "speaker" ? media.prefs.speaker : (media.deviceOf(kind) ?? media.prefs[kind])),
      choose: (kind, deviceId) => {
        if (kind === "speaker") {
          media.choose("speaker", deviceId);
          this.audio.setSpeaker(deviceId);
        } else void this.session.switchDevice(kind, deviceId);
      },
      blur: { on: () => this.session.blur.enabled, set: (on) => this.session.setBlur(on), supported: this.session.blur.supported },
    });
  }

  start(): void {
    this.banner.after(this.mediaProblem, this.rooms.notices, this.adminBanner.root);
    setDebugSource({
      selfId: () => this.session.selfId,
      stats: () => this.session.stats(),
      outbound: () => this.session.outbound(),
      securityCode: () => (this.session.e2ee && this.opts.secure?.inGroup ? this.opts.secure.securityCode : null),
      e2eeEpoch: () => this.opts.secure?.epoch ?? null,
      e2eeMembers: () => (this.opts.secure?.inGroup ? this.opts.secure.members().length : null),
      e2eeStats: () => this.opts.secure?.stats() ?? Promise.resolve([]),
      chat: () => (this.opts.secure?.chat ?? []).map((m) => ({ from: m.from, text: m.text, private: m.private, self: m.self })),
    });
    const room = this.opts.move?.room ?? 0;
    document.title = room > 0 ? `${this.opts.move!.name} (breakout room) — Kaigi` : "Meeting — Kaigi";
    document.body.dataset.room = String(room);
    showScreen(this.root);
    this.localChanged();
    this.rosterChanged();
    this.securityChanged();
    attachRecording(this, { session: this.session, root: this.root, gallery: this.gallery.root, addMenuItems: (s) => this.controls.addMenuItems(s), notice: (t) => this.notice(t), leave: () => this.leave() });
    this.session.start();
    this.activeSpeaker.start();
  }

  // ---- SessionView --------------------------------------------------------------

  status(s: SessionStatus, detail?: { message?: string; retryInMs?: number }): void {
    if (this.finished) return;
    this.showMediaProblem(s === "in-meeting"); // while reconnecting, the connection banner says it
    if (this.waitingScreen !== null) {
      if (s !== "in-meeting") {
        // Still in the waiting room; the connection reconnects by itself.
        this.waitingScreen.setConnected(false);
        return;
      }
      // Let in: the meeting takes over from the waiting screen.
      this.waitingScreen.detach();
      this.waitingScreen = null;
      document.title = "Meeting — Kaigi";
      showScreen(this.root);
    }
    setState(s);
    this.root.dataset.status = s;
    this.extras.status(s);
    if (s === "in-meeting") {
      // The server's word on the room (welcome), else the move that brought us here.
      const room = this.session.breakout ?? (this.opts.move && this.opts.move.room > 0 ? this.opts.move : null);
      this.controls.setRoom(room?.name ?? null);
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

  waiting(reason: string): void {
    if (this.finished) return;
    setState("waiting");
    if (this.waitingScreen === null) {
      this.waitingScreen = new WaitingScreen(this.opts.title, this.opts.media, {
        leave: () => this.leave(),
        toggleMic: () => void this.session.setMic(this.opts.media.mic === null),
        toggleCamera: () => void this.session.setCamera(this.opts.media.camera === null),
      });
      showScreen(this.waitingScreen.root);
    }
    this.waitingScreen.setReason(reason);
    this.waitingScreen.setConnected(true);
    this.waitingScreen.render();
  }

  rosterChanged(): void {
    if (this.finished) return;
    const s = this.session;
    const role = s.role;
    if (this.lastRole !== null && this.lastRole !== role) {
      if (role === "cohost") this.notice("You are now a co-host: you can admit people, mute and remove participants, and change the meeting's settings.");
      else if (this.lastRole === "cohost") this.notice("You are no longer a co-host.");
    }
    if (s.selfId !== null) this.lastRole = role;
    this.renderPanel();
    this.controls.setPeople(Math.max(s.roster.size, 1));
    this.renderHostTools();
    this.renderTiles();
    this.securityChanged();
    this.extras.rosterChanged();
  }

  settingsChanged(): void {
    if (this.finished) return;
    const locked = this.session.settings?.locked ?? false;
    if (this.lastLocked !== null && this.lastLocked !== locked) {
      this.notice(locked ? "The meeting is locked: nobody new can join." : "The meeting is unlocked: people with the link can join again.");
    }
    this.lastLocked = locked;
    this.controls.setLocked(locked);
    this.renderHostTools();
    this.renderPanel();
    this.localChanged();
  }

  waitingRoomChanged(arrived: readonly WaitingEntry[]): void {
    if (this.finished) return;
    const waiting = this.session.waitingRoom;
    const moderator = isModerator(this.session.role);
    this.controls.setWaiting(waiting.length, moderator && waiting.length > 0);
    if (moderator && (this.panels.showing !== "people" || waiting.length === 0)) this.controls.hostTools.arrived(arrived, waiting);
    this.renderPanel();
    this.renderHostTools();
  }

  remoteChanged(): void {
    if (this.finished) return;
    this.audio.sync(this.session.remoteTracks());
    this.renderTiles();
  }

  localChanged(): void {
    if (this.finished) return;
    const m = this.opts.media;
    const s = this.session;
    this.waitingScreen?.render();
    this.controls.mic.set(m.mic !== null, s.isBusy("mic"), m.mic === null && !s.mayUnmute ? "A host muted you. Only hosts can unmute you in this meeting." : null);
    this.controls.camera.set(m.camera !== null, s.isBusy("camera"));
    let screenBlocked: string | null = null;
    if (!screenShareSupported) screenBlocked = "This browser cannot share the screen";
    else if (m.screen === null && !s.mayShareScreen) screenBlocked = "Only hosts can share";
    this.controls.screen.set(m.screen !== null, s.isBusy("screen"), screenBlocked);
    this.renderTiles();
  }

  fatal(code: string, message: string): void {
    this.finish();
    if (code === "wrong_passcode") {
      this.opts.wrongPasscode(message);
      return;
    }
    setState("error");
    const again: Action = { id: "retry", label: "Try again", run: () => this.rejoin() };
    let actions: Action[];
    switch (code) {
      case "meeting_not_found":
      case "banned":
      case "denied":
      case "removed":
      case "ended":
        actions = [];
        break;
      case "sign_in_required":
        actions = [{ id: "sign-in", label: "Sign in", href: signInPath(`/m/${this.opts.meetingId}`) }];
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
      case "breakout_ended":
      case "breakout_closed":
      case "bad_token":
        // The room, or the move's one-time token, is gone: the main room afresh, not the move again.
        actions = [{ ...again, label: "Rejoin the meeting", run: () => this.rejoin(true) }];
        break;
      default:
        // meeting_locked, meeting_full, rate_limited, connection_lost …: it may work later.
        actions = [again];
    }
    showScreen(fatalScreen(code, message, actions));
  }

  // ---- breakout rooms ----------------------------------------------------------

  moveTo(move: Move): void {
    this.rooms.moveTo(move);
  }

  breakoutsChanged(status: BreakoutStatus): void {
    this.rooms.changed(status);
  }

  breakoutBroadcast(m: BreakoutBroadcast): void {
    if (!this.finished) this.rooms.heard(m);
  }

  /** Ends this room's screen and session (the devices keep running) and opens the meeting in another room. */
  private enterRoom(secure: SecureMeeting | null, move: { token: string; room: number; name: string }, notice: string): void {
    this.session.leaveForMove();
    this.waitingScreen?.detach();
    this.waitingScreen = null;
    this.finish();
    startMeeting({ ...this.opts, secure, move }, [notice]);
  }

  adminNotice(text: string): void {
    if (!this.finished) this.adminBanner.show(text);
  }

  notice(text: string): void {
    this.toast.textContent = text;
    show(this.toast, true);
    window.clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => show(this.toast, false), TOAST_MS);
  }

  mediaHealthChanged(): void {
    if (this.finished) return;
    this.showMediaProblem(this.root.dataset.status === "in-meeting");
  }

  private showMediaProblem(inMeeting: boolean): void {
    const p = inMeeting ? this.session.mediaHealth.problem : null;
    if (p !== null) {
      replace(this.mediaProblem, el("div", { class: "encryption-banner-text" }, el("strong", { text: `${p.text} ` }), el("span", { text: p.advice })));
    }
    show(this.mediaProblem, p !== null);
  }

  // ---- host controls ------------------------------------------------------------------

  private renderHostTools(): void {
    const role = this.session.role;
    this.controls.hostTools.render(isModerator(role), role === "host", this.session.settings?.locked ?? false);
    const waiting = isModerator(role) ? this.session.waitingRoom.length : 0;
    this.controls.describePeople(waiting, Math.max(this.session.roster.size, 1));
  }

  private renderPanel(): void {
    const s = this.session;
    this.panels.people.render({
      people: s.roster.list(),
      selfId: s.selfId,
      local: s.state,
      selfName: this.opts.name,
      role: s.role,
      settings: s.settings,
      waiting: s.waitingRoom,
    });
    this.extras.decorate();
  }

  private async participantAction(action: MenuAction, p: Participant): Promise<void> {
    const host = this.session.host;
    switch (action) {
      case "mute":
        host.mute(p.id);
        return;
      case "stop-video":
        host.stopVideo(p.id, false);
        return;
      case "stop-screen":
        host.stopVideo(p.id, true);
        return;
      case "make-cohost":
      case "remove-cohost":
        host.setCohost(p.id, action === "make-cohost");
        return;
      case "rename":
        await this.rename(p);
        return;
      case "remove":
        await this.confirmRemove(p);
        return;
    }
  }

  private async rename(p: Participant): Promise<void> {
    const self = p.id === this.session.selfId;
    const f = field({ id: "rename-input", label: self ? "Your name" : `New name for ${p.name}`, value: p.name, attrs: { maxlength: NAME_MAX } });
    const ok = await openDialog(this.root, {
      id: "rename-dialog",
      title: self ? "Change your name" : `Rename ${p.name}`,
      body: [f.root],
      confirm: { id: "rename-save", label: "Rename" },
      validate: () => {
        const problem = nameProblem(f.input.value);
        f.setError(problem);
        return problem === null;
      },
    });
    if (ok) this.session.host.rename(p.id, f.input.value.trim());
  }

  private async confirmRemove(p: Participant): Promise<void> {
    const ban = checkbox("remove-ban", "Don't let them rejoin", "They cannot come back to this meeting with the link, from this browser or, if they signed in, with their account.");
    const ok = await openDialog(this.root, {
      id: "confirm-remove",
      title: `Remove ${p.name}?`,
      body: [el("p", { text: `${p.name} leaves the meeting at once.` }), ban.root],
      confirm: { id: "confirm-remove-ok", label: "Remove", danger: true },
    });
    if (ok) this.session.host.remove(p.id, ban.input.checked);
  }

  private async openSettings(): Promise<void> {
    const current = this.session.settings;
    if (current === null) return;
    const form = new SettingsForm("live", "Rules for this meeting", IN_MEETING_FIELDS);
    form.set(current);
    const ok = await openDialog(this.root, {
      id: "meeting-settings",
      title: "Meeting settings",
      body: [form.root, el("p", { class: "hint", text: "Changes apply at once, for everyone, and are kept for the next time this meeting starts." }), ingestPanel(this.session.meetingId)],
      confirm: { id: "meeting-settings-save", label: "Save" },
    });
    // Based on the settings as they are now, so another host's change meanwhile is kept where this form did not touch it.
    if (ok && form.changed && this.session.settings) this.session.host.updateSettings(form.read(this.session.settings));
  }

  private async confirmEnd(): Promise<void> {
    const ok = await openDialog(this.root, {
      id: "confirm-end",
      title: "End the meeting for everyone?",
      body: [el("p", { text: "Everyone leaves at once. To leave on your own instead, use the red leave button." })],
      confirm: { id: "confirm-end-ok", label: "End for all", danger: true },
    });
    if (ok) this.session.host.endForAll();
  }

  // ---- rendering --------------------------------------------------------------------

  private renderTiles(): void {
    if (this.finished) return;
    const s = this.session;
    const selfId = s.selfId;
    const secure = s.e2ee ? this.opts.secure : null;
    const { people, screens } = tilesOf({
      selfId,
      selfName: (selfId !== null ? s.roster.get(selfId)?.name : undefined) ?? this.opts.name,
      local: s.state,
      camera: s.blur.output(this.opts.media.camera),
      screen: this.opts.media.screen,
      people: s.roster.list(),
      received: mediaByParticipant(s.remoteTracks()),
      ...(secure ? { streamFrom: (mid: string, p: string) => secure.streamFrom(mid, p) } : {}),
    });
    this.stage.classList.toggle("has-spotlight", this.gallery.render(people, screens));
    this.extras.decorate();
  }

  private setPanel(open: boolean): void {
    this.setSide(open ? "people" : null);
  }

  /** Opens one side panel (people, chat or encryption), or none. */
  private setSide(which: Side | null): void {
    if (which === "people") this.controls.hostTools.hideArrivals();
    const was = this.panels.select(which, this.controls.toggles);
    this.stage.classList.toggle("with-panel", which !== null);
    if (which === "people") this.panels.people.root.querySelector<HTMLElement>("button")?.focus();
    else if (which === "chat") {
      this.chatChanged();
      this.panels.chat.focus();
    } else if (which === "security") {
      this.securityChanged();
      this.panels.security.root.querySelector<HTMLElement>("button")?.focus();
    } else if (this.root.contains(document.activeElement) || document.activeElement === document.body) {
      this.controls.toggles[was ?? "people"].focus();
    }
    this.gallery.layout();
  }

  // ---- end-to-end encryption and chat ---------------------------------------------------

  sendingChanged(): void {
    if (this.finished) return;
    this.banners.showSending(this.session.sending, this.session.e2ee);
  }

  confirmUnencrypted(): Promise<boolean> {
    if (this.finished) return Promise.resolve(false);
    return openDialog(this.root, {
      id: "confirm-unencrypted",
      title: "Send without end-to-end encryption?",
      body: [el("p", { text: "This meeting is not end-to-end encrypted: the server can see and hear your camera, microphone and screen." })],
      confirm: { id: "confirm-unencrypted-ok", label: "Send anyway" },
      cancelLabel: "Don't send",
    });
  }

  securityChanged(): void {
    if (this.finished) return;
    // The spotlight's participant or host may have left; a new epoch has members who have not seen it.
    this.spotlight?.refresh();
    this.rooms.securityChanged();
    // Whose key each received stream decrypts under may have changed.
    this.renderTiles();
    const secure = this.opts.secure;
    const e2ee = this.session.e2ee && secure !== null;
    const inGroup = e2ee && secure!.inGroup;
    const state = !this.session.e2ee ? "off" : inGroup ? "on" : "joining";
    this.controls.setE2ee(state, state === "on" ? secure!.securityCode : "");
    const security = {
      e2ee: this.session.e2ee,
      inGroup,
      code: inGroup ? secure!.securityCode : "",
      members: e2ee ? secure!.members() : [],
      people: this.session.roster.list(),
      warnings: e2ee ? secure!.warnings() : [],
      keyless: inGroup ? secure!.keyless() : [],
    };
    // The alert over the meeting keeps what is wrong now and warnings of the
    // last few minutes; the security panel keeps them all.
    const recent = security.warnings.filter((w) => Date.now() - w.at < ALERT_WARNINGS_MS);
    const problems = groupProblems({ ...security, warnings: recent });
    this.banners.showGroup(problems);
    this.extras.securityChanged();
    if (this.panels.showing === "security") void this.panels.security.render(security);
    this.chatChanged();
  }

  chatChanged(): void {
    if (this.finished) return;
    const secure = this.opts.secure;
    const messages = secure?.chat ?? [];
    if (this.panels.showing === "chat") this.chatSeen = messages.length;
    this.controls.setUnread(messages.length - this.chatSeen);
    if (this.panels.showing !== "chat") return;
    const s = this.session;
    let blocked: string | null = null;
    if (!s.e2ee) blocked = "Chat is available in end-to-end encrypted meetings.";
    else if (!secure?.inGroup) blocked = "Setting up encryption…";
    else if (s.settings?.chat === "hosts" && !isModerator(s.role)) blocked = "Only hosts can chat in this meeting.";
    this.panels.chat.render({
      messages,
      people: s.roster.list(),
      selfId: s.selfId,
      blocked,
      note: s.e2ee ? "Messages are end-to-end encrypted: the server passes them on without being able to read them." : "",
    });
  }

  // ---- leaving --------------------------------------------------------------------------

  private leave(): void {
    const waited = this.waitingScreen !== null;
    this.session.leave();
    this.waitingScreen?.detach();
    this.waitingScreen = null;
    this.finish();
    setState("left");
    showScreen(leftScreen(() => this.rejoin(), waited ? "You left the waiting room" : undefined));
  }

  /** Joins again with the same name and the devices that were on (`toMain`: the main room, without the move that brought us here). */
  private rejoin(toMain = false): void {
    const was = this.session.endState ?? { audio: false, video: false, screen: false };
    setState("joining");
    const { move: _, ...main } = this.opts;
    void Promise.all([this.opts.media.startBoth(was.audio, was.video), toMain ? this.rooms.mainRoomSecure() : null]).then(([p, secure]) => {
      const notices = [p.mic, p.camera].filter((x) => x !== null).map((x) => x.message);
      startMeeting(toMain ? { ...main, secure } : this.opts, [...new Set(notices)]);
    });
  }

  /** Tears down the screen's listeners; the session has ended (or is ending). */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.gallery.destroy();
    this.activeSpeaker.stop();
    if (document.fullscreenElement === this.root) void document.exitFullscreen().catch(() => {});
    this.extras.destroy();
    document.removeEventListener("keydown", this.onKey);
    window.removeEventListener("pagehide", this.onPageHide);
    document.removeEventListener("click", this.onAnyClick, true);
    window.clearTimeout(this.toastTimer);
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

  // ---- layout --------------------------------------------------------------------------

  /** The layout button follows the gallery: the chosen mode, and why another shows (a spotlight, a pin). */
  private layoutChanged(): void {
    const reason = this.gallery.shown?.reason;
    const forced = reason === "spotlight" ? "a host put someone in the spotlight" : reason === "pin" ? "you pinned someone" : null;
    this.layoutControls?.setLayout(this.gallery.mode, forced);
  }

  private toggleFullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    // The whole meeting, controls bar included: the stage alone would hide the controls (and this item) until Esc.
    else this.root.requestFullscreen().catch(() => this.notice("The browser would not show the meeting full screen."));
  }

  private readonly onPageHide = (): void => {
    this.session.pageHidden();
  };

  /** Any click counts as the interaction a browser wants before it plays sound. */
  private readonly onAnyClick = (): void => {
    if (!this.soundBlocked.hidden) this.audio.resume();
  };
}
