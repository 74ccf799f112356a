// Being in a meeting: the signalling connection, the peer connection of the
// current connection, the roster, the meeting's settings, the waiting room
// (for hosts), and what this participant sends. It owns the rules (publish
// on welcome, a fresh peer connection after every reconnect, `media` on every
// change, obeying a host who stops a device, sending nothing in clear where
// end-to-end encryption is expected: send-policy.ts) and tells a view what
// changed; it builds no DOM. What happens when media does not connect (ICE
// restarts, the TURN relay fallback, reconnects) is media-connection.ts's.

import { Call, type CallOptions, type InboundStats, type OutboundStats, type RemoteTrack } from "./call.js";
import type { LocalMedia, LocalSource } from "./devices.js";
import { HostCommands } from "./host-commands.js";
import { MediaConnection } from "./media-connection.js";
import type { MediaHealth } from "./media-health.js";
import { routeNegotiation } from "./negotiation-route.js";
import type { RelayMemory } from "./relays.js";
import { isModerator, mayShareScreen, mayUnmute } from "./permissions.js";
import type { BreakoutBroadcast, ClientMessage, MediaState, MediaStopped, RecordingState, ServerError, ServerMessage, WaitingEntry, Welcome } from "./protocol.js";
import type { TabResume } from "./resume.js";
import { Roster } from "./roster.js";
import type { SecureMeeting } from "./secure.js";
import type { Sending, SendPolicy } from "./send-policy.js";
import type { Settings } from "./settings.js";
import { SignalClient, signalUrl, type SignalOptions } from "./signal.js";
import type { BreakoutStatus, Move } from "./breakouts.js";
import { blurFor, type BackgroundBlur } from "./background-blur.js";

export type SessionStatus = "joining" | "in-meeting" | "reconnecting";

export interface SessionView {
  status(s: SessionStatus, detail?: { message?: string; retryInMs?: number }): void;
  /** In the waiting room: "host_absent" or "waiting_room". `welcome` (status in-meeting) or `fatal` follows. */
  waiting(reason: string): void;
  rosterChanged(): void;
  remoteChanged(): void;
  localChanged(): void;
  /** The meeting's settings changed (or arrived with welcome). */
  settingsChanged(): void;
  /** For hosts and co-hosts: the waiting room changed; `arrived` are the people new to it. */
  waitingRoomChanged(arrived: readonly WaitingEntry[]): void;
  /**
   * The session ended without the person leaving: refused, replaced,
   * removed, ended by the host, or the connection could not be restored.
   */
  fatal(code: string, message: string): void;
  /** Something worth telling the person that needs no action (a device stopped, a host muted them …). */
  notice(text: string): void;
  /** End-to-end encryption: the epoch, security code or verified members changed. */
  securityChanged(): void;
  /** Whether media connects changed (see `mediaHealth.problem`): a banner to show or take down. */
  mediaHealthChanged(): void;
  /** A chat message arrived or was sent. */
  chatChanged(): void;
  /** What this participant may send changed (see `sending`): a warning or a banner to show. */
  sendingChanged(): void;
  /**
   * The meeting is not end-to-end encrypted and nobody said it would be:
   * ask the person whether to send their camera, microphone and screen
   * anyway. Resolves true if they agree.
   */
  confirmUnencrypted(): Promise<boolean>;
  /** The server sends this participant to another room (breakout.ts): count down, then move. */
  moveTo(move: Move): void;
  /** Hosts: who is in which breakout room. */
  breakoutsChanged(status: BreakoutStatus): void;
  /** A host's message to all rooms, as relayed (breakout-broadcast.ts checks it). */
  breakoutBroadcast?(m: BreakoutBroadcast): void;
  /** An administrator's action on the meeting, with their reason: shown until dismissed (else as a notice). */
  adminNotice?(text: string): void;
  recordingChanged?(m: RecordingState): void; // started, stopped, or on as one joins (../recording/in-meeting.ts)
}

export interface SessionOptions {
  meetingId: string;
  name: string;
  /** The meeting's passcode, if the person has it. */
  passcode: string | null;
  /** The browser's own ID (see storage.deviceId). */
  device: string;
  media: LocalMedia;
  /** End-to-end encryption, when this browser supports it (null: it cannot join E2EE meetings). */
  secure: SecureMeeting | null;
  /** Whether end-to-end encryption is expected, and whether the person agreed to send without. */
  policy: SendPolicy;
  /** The tab's resume token, so a reload comes back as the same participant (absent: kept in memory only). */
  resume?: TabResume;
  /** Entering a room by a move (breakout.ts): its token and the breakout room (0: the main room). */
  move?: { token: string; room: number };
  /** For tests (test/session.test.ts): what makes the signalling client and each welcome's call (absent: a SignalClient, a Call). */
  parts?: {
    signal?(o: SignalOptions): SignalClient;
    call?(o: CallOptions): Call;
    /** Where the tab remembers that TURN relays were needed (absent: sessionStorage). */
    relayMemory?: RelayMemory;
    /** The clock that dates welcomes (for the age of their TURN credentials) and ICE restarts (absent: Date.now). */
    now?(): number;
  };
}

/** Error codes of host controls and renames, worth showing the person as they are. */
// rate_limited: the server is slowing this connection down, or dropped a
// message of a kind sent too often (it says so at most once a second).
const SHOWN_ERRORS: ReadonlySet<string> = new Set(["forbidden", "no_such_participant", "not_waiting", "bad_settings", "bad_role", "bad_name", "rate_limited"]);
/** How many ids of recent `media` messages to remember, to recognise their errors. */
const MEDIA_IDS_KEPT = 16;

export class MeetingSession {
  readonly roster = new Roster();
  selfId: string | null = null;
  /** The meeting's settings, from welcome and `settings`; null until admitted. */
  settings: Settings | null = null;
  /** Everyone waiting to be let in (hosts and co-hosts only). */
  waitingRoom: readonly WaitingEntry[] = [];
  /** A host muted this participant; unmuting may then need the meeting's permission. */
  mutedByHost = false;
  /** The last `breakout_return` heard in this (breakout) room: its token brings us back should the room close first. */
  private returnMove: Move | null = null;
  /** Moderation messages (the server checks the permission of each). */
  readonly host: HostCommands;
  readonly meetingId: string;
  readonly name: string;
  readonly media: LocalMedia;
  readonly secure: SecureMeeting | null;
  /** The meeting is end-to-end encrypted (from welcome). */
  e2ee = false;
  /** The breakout room this participant is in, from welcome (null: the main room). */
  breakout: { room: number; name: string } | null = null;
  /** What may be sent since the latest welcome (null before the first). */
  sending: Sending | null = null;
  private readonly policy: SendPolicy;
  private readonly resume: TabResume | null;
  /** The question "send without encryption?" while it is open. */
  private confirming: Promise<boolean> | null = null;
  /** The server takes a simulcast camera and wants to know how large we show videos. */
  private simulcast = false;
  private call: Call | null = null;
  private readonly signal: SignalClient;
  private readonly newCall: (o: CallOptions) => Call;
  private readonly busy = new Set<"mic" | "camera" | "screen">();
  /** ICE failures, restarts and the TURN relay fallback (media-connection.ts). */
  private readonly connection: MediaConnection;
  private ended = false;
  private guessing = false;
  private readonly mediaIds: number[] = [];
  /** Whether media connects, and what to tell the person when it does not. */
  readonly mediaHealth: MediaHealth;
  /** What was being sent when the session ended, so a rejoin can start the same devices. */
  endState: MediaState | null = null;
  /** Background blur of the camera (background-blur.ts): the camera's sender and the self-view carry its output. */
  readonly blur: BackgroundBlur;

  constructor(
    opts: SessionOptions,
    private readonly view: SessionView,
  ) {
    this.meetingId = opts.meetingId;
    this.name = opts.name;
    this.media = opts.media;
    this.secure = opts.secure;
    this.policy = opts.policy;
    this.resume = opts.resume ?? null;
    this.host = new HostCommands((m) => this.sendControl(m));
    this.secure?.attach(
      {
        send: (m) => void this.signal.send(m),
        changed: () => this.view.securityChanged(),
        chat: () => this.view.chatChanged(),
      },
      { participant: (id) => this.roster.get(id), people: () => this.roster.list(), settings: () => this.settings, selfId: () => this.selfId },
    );
    this.newCall = opts.parts?.call ?? ((o) => new Call(o));
    this.connection = new MediaConnection(
      {
        call: () => this.call,
        signalConnected: () => this.signal.connected,
        reconnect: () => this.signal.reconnect(),
        healthChanged: () => this.view.mediaHealthChanged(),
      },
      opts.parts?.relayMemory,
      opts.parts?.now,
    );
    this.mediaHealth = this.connection.health;
    this.signal = (opts.parts?.signal ?? ((o) => new SignalClient(o)))({
      url: signalUrl(location),
      ...(opts.resume ? { resume: opts.resume } : {}),
      hello: () => ({
        meeting: this.meetingId,
        name: this.name,
        ...(opts.passcode !== null ? { passcode: opts.passcode } : {}),
        device: opts.device,
        audio: this.media.mic !== null,
        video: this.media.camera !== null,
        ...(this.secure ? this.secure.helloFields() : {}),
        ...(opts.move ? { token: opts.move.token, ...(opts.move.room > 0 ? { breakout: opts.move.room } : {}) } : {}),
      }),
      events: {
        welcome: (w) => this.welcome(w),
        waiting: (reason) => this.view.waiting(reason),
        message: (m) => this.message(m),
        lost: (info) => {
          this.dropCall();
          const detail: { message?: string; retryInMs?: number } = { retryInMs: info.retryInMs };
          if (info.message !== undefined) detail.message = info.message;
          this.view.status(info.joined ? "reconnecting" : "joining", detail);
        },
        fatal: (code, message) => {
          if ((code === "breakout_ended" || code === "breakout_closed") && this.returnMove !== null && !this.ended) {
            // This breakout room closed with us still in it, or while we
            // were reconnecting to it (the move back had not happened, or
            // failed): the main room's token from the close still lets us
            // in, so go back now, devices kept.
            this.view.moveTo({ ...this.returnMove, seconds: 0 });
            return;
          }
          this.end();
          this.view.fatal(code, message);
        },
      },
    });
    this.media.onEnded = (source) => void this.trackEnded(source);
    this.blur = blurFor(this.media);
    this.blur.onChange = (problem) => void this.blurChanged(problem);
  }

  start(): void {
    this.view.status("joining");
    this.signal.start();
  }

  /** What this participant sends now, as the `media` message says it: nothing while sending is held back. */
  get state(): MediaState {
    const held = this.sending === "ask" || this.sending === "refuse";
    return { audio: !held && this.media.mic !== null, video: !held && this.media.camera !== null, screen: !held && this.media.screen !== null };
  }

  /** Whether end-to-end encryption is expected here, whatever the server says. */
  get expectsE2ee(): boolean {
    return this.policy.expectsE2ee;
  }

  remoteTracks(): RemoteTrack[] {
    return this.call ? this.call.remoteTracks() : [];
  }

  /** The receivers of the others' microphones, for who is speaking (active-speaker.ts). */
  microphones(): { participant: string; receiver: RTCRtpReceiver }[] {
    return this.call ? this.call.microphones() : [];
  }

  /**
   * Tells the server how large we show a participant's video (device
   * pixels; 0×0 when not shown), so it forwards the simulcast layer that
   * fits.
   */
  videoSize(participant: string, source: "camera" | "screen", width: number, height: number): void {
    if (!this.simulcast || !this.call) return;
    void this.signal.send({ type: "video_size", participant, source, width, height });
  }

  stats(): Promise<InboundStats[]> {
    return this.call ? this.call.stats() : Promise.resolve([]);
  }

  outbound(): Promise<OutboundStats[]> {
    return this.call ? this.call.outbound() : Promise.resolve([]);
  }

  isBusy(what: "mic" | "camera" | "screen"): boolean {
    return this.busy.has(what);
  }

  /** This participant's role ("host", "cohost", "participant"), as the roster says. */
  get role(): string {
    return (this.selfId !== null ? this.roster.get(this.selfId)?.role : undefined) ?? "participant";
  }

  /** Whether the microphone may be turned on now (not after a host's mute the meeting does not let people undo). */
  get mayUnmute(): boolean {
    return mayUnmute(this.role, this.settings, this.mutedByHost);
  }

  get mayShareScreen(): boolean {
    return mayShareScreen(this.role, this.settings);
  }

  // ---- the person's controls --------------------------------------------------

  async setMic(on: boolean): Promise<void> {
    if (on && !this.mayUnmute) {
      this.view.notice("A host muted you. Only hosts can unmute you in this meeting.");
      return;
    }
    await this.exclusive("mic", async () => {
      if (on === (this.media.mic !== null)) return;
      if (on) {
        if (!(await this.maySend())) return;
        const problem = await this.media.startMic();
        if (problem) {
          this.view.notice(problem.message);
          return;
        }
        await this.call?.setTrack("microphone", this.media.mic);
        // Unmuting oneself (when allowed) undoes a host's mute on the server too.
        this.mutedByHost = false;
      } else {
        // Stop sending before stopping the track, and stop the track so the
        // browser's recording indicator goes off.
        await this.call?.setTrack("microphone", null);
        this.media.stopMic();
      }
      this.mediaChanged();
    });
  }

  async setCamera(on: boolean): Promise<void> {
    await this.exclusive("camera", async () => {
      if (on === (this.media.camera !== null)) return;
      if (on) {
        if (!(await this.maySend())) return;
        const problem = await this.media.startCamera();
        if (problem) {
          this.view.notice(problem.message);
          return;
        }
        await this.call?.setTrack("camera", this.media.camera);
      } else {
        await this.call?.setTrack("camera", null);
        this.media.stopCamera(); // the camera light goes off
      }
      this.mediaChanged();
    });
  }

  /**
   * Uses another camera or microphone (null: the system default), and
   * remembers the choice. A device that is on is swapped on its sender at
   * once (the encryption and the negotiation stay as they are); one that is
   * off starts with the new choice next time.
   */
  async switchDevice(kind: "camera" | "microphone", deviceId: string | null): Promise<void> {
    await this.exclusive(kind === "camera" ? "camera" : "mic", async () => {
      this.media.choose(kind, deviceId);
      const on = kind === "camera" ? this.media.camera !== null : this.media.mic !== null;
      if (!on) return;
      const problem = kind === "camera" ? await this.media.startCamera(deviceId !== null) : await this.media.startMic(deviceId !== null);
      if (problem) {
        this.view.notice(problem.message);
        return;
      }
      await this.call?.setTrack(kind, kind === "camera" ? this.media.camera : this.media.mic);
      this.mediaChanged();
    });
  }

  /** Turns background blur on or off (remembered); the camera's sender gets the new track at once. */
  setBlur(on: boolean): void {
    this.blur.setEnabled(on);
  }

  /** Blur's output changed (turned on or off, or it failed): the sender and the self-view take it. */
  private async blurChanged(problem: string | null): Promise<void> {
    if (this.ended) return;
    if (problem !== null) this.view.notice(problem);
    await this.call?.setTrack("camera", this.media.camera);
    this.view.localChanged();
  }

  async setScreen(on: boolean): Promise<void> {
    if (on && !this.mayShareScreen) {
      this.view.notice("Only hosts can share their screen in this meeting.");
      return;
    }
    await this.exclusive("screen", async () => {
      if (on === (this.media.screen !== null)) return;
      if (on) {
        if (!(await this.maySend())) return;
        const r = await this.media.startScreen();
        if (!r.ok) {
          if (!r.cancelled) this.view.notice(r.message);
          return;
        }
        if (this.ended) {
          this.media.stopScreen();
          return;
        }
        await this.publishScreen();
      } else {
        await this.stopScreenShare();
      }
      this.mediaChanged();
    });
  }

  /** Leaves for good: `leave` to the server, every track stopped. */
  leave(): void {
    this.signal.leave();
    this.end();
  }

  // ---- the connection -----------------------------------------------------------

  private welcome(w: Welcome): void {
    this.selfId = w.self.id;
    this.breakout = w.breakout;
    this.roster.reset(w.participants);
    this.settings = w.settings;
    this.e2ee = w.e2ee;
    this.simulcast = w.simulcast;
    const ice = this.connection.welcomed(w.iceServers);
    this.secure?.welcomed(w.self, w.e2ee, w.resumed, w.e2eeRestart, w.e2eeEpoch);
    // The server's word on encryption decides nothing alone: where
    // encryption is expected and the server says there is none, nothing
    // is sent (send-policy.ts).
    this.sending = this.policy.welcomed(w.e2ee, this.secure !== null);
    const secure = this.sending === "encrypted" ? this.secure : null;
    if (this.sending === "refuse") this.stopDevices();
    // A host's mute is the server's record (welcome.self.mutedByHost): a
    // resumed participant keeps it, a reloaded page too, which learns it
    // only here; a new one starts without. Where the meeting does not let
    // people undo it, the microphone stays off (the server would refuse it).
    this.mutedByHost = w.self.mutedByHost;
    if (this.mutedByHost && this.media.mic !== null && !this.mayUnmute) {
      this.media.stopMic();
      this.view.notice("A host muted you. Only hosts can unmute you in this meeting.");
    }
    this.waitingRoom = [];
    // Whether or not the server resumed us, the old peer connection is gone
    // on its side: negotiate a fresh one and publish what we send now.
    this.dropCall();
    const call = this.newCall({
      iceServers: ice.start,
      ...(ice.held ? { relays: ice.held } : {}),
      send: (m) => void this.signal.send(m),
      remoteTracksChanged: () => this.view.remoteChanged(),
      iceFailed: () => this.connection.failed(),
      iceConnected: () => this.connection.connected(),
      simulcast: w.simulcast,
      camera: (track) => this.blur.output(track),
      maySend: () => this.sending === "encrypted" || this.sending === "clear",
      ...(secure
        ? {
            protect: {
              sender: (sender, source, kind) => secure.protectSender(sender, source, kind),
              receiver: (receiver, mid, kind, from) => secure.protectReceiver(receiver, mid, kind, from),
            },
          }
        : {}),
    });
    this.call = call;
    // Microphone and camera are always published, with or without a track,
    // so turning them on later needs no renegotiation.
    void call.setTrack("microphone", this.media.mic);
    void call.setTrack("camera", this.media.camera);
    if (this.media.screen) void this.publishScreen();
    // `hello` carried audio and video; the screen (and a resumed
    // participant's older state) can only be set with `media`.
    const s = this.state;
    if (w.self.audio !== s.audio || w.self.video !== s.video || w.self.screen !== s.screen) this.sendMedia();
    this.view.status("in-meeting");
    this.view.settingsChanged();
    this.view.rosterChanged();
    this.view.remoteChanged();
    this.view.waitingRoomChanged([]);
    this.view.sendingChanged();
    if (this.sending === "ask" && (this.media.mic || this.media.camera || this.media.screen)) {
      // Turned on before joining: sent only if the person agrees.
      void this.confirmClear().then((ok) => {
        if (ok || this.ended || this.sending !== "ask") return;
        this.stopDevices();
        this.mediaChanged();
      });
    }
  }

  /** Before a device is turned on: whether what it captures may be sent (asking the person, if that is the rule). */
  private async maySend(): Promise<boolean> {
    if (this.sending === "refuse") {
      this.view.notice("Not sent: your invite says this meeting is end-to-end encrypted, but the server says it is not.");
      return false;
    }
    if (this.sending === "ask") return this.confirmClear();
    return true;
  }

  /** Asks once at a time whether to send without end-to-end encryption; on yes, sends what is on. */
  private confirmClear(): Promise<boolean> {
    this.confirming ??= this.view.confirmUnencrypted().then(async (ok) => {
      this.confirming = null;
      if (this.ended || this.sending !== "ask") return this.sending === "clear";
      if (ok) {
        this.policy.consent();
        this.sending = "clear";
        await this.publishAll();
      }
      this.view.sendingChanged();
      return ok;
    });
    return this.confirming;
  }

  /** Puts what is on onto the call (where sending is allowed: Call asks). */
  private async publishAll(): Promise<void> {
    await this.call?.setTrack("microphone", this.media.mic);
    await this.call?.setTrack("camera", this.media.camera);
    if (this.media.screen) await this.publishScreen();
    this.mediaChanged();
  }

  /** Turns every local device off (their lights too): nothing of them is being sent. */
  private stopDevices(): void {
    this.media.stopMic();
    this.media.stopCamera();
    this.media.stopScreen();
  }

  private message(m: ServerMessage): void {
    if (routeNegotiation(this.call, m, () => this.connection.serverAskedRestart())) return;
    switch (m.type) {
      case "participant_joined":
      case "participant_updated": {
        const wasRole = this.role;
        const before = this.roster.get(m.participant.id)?.role;
        this.roster.upsert(m.participant);
        if (before !== undefined && before !== m.participant.role) this.secure?.roleChanged();
        if (m.participant.id === this.selfId && m.participant.role !== wasRole) this.permissionsChanged();
        this.view.rosterChanged();
        return;
      }
      case "settings":
        this.settings = m.settings;
        this.permissionsChanged();
        this.view.settingsChanged();
        return;
      case "breakout":
      case "breakout_return":
        if (m.type === "breakout_return") this.returnMove = { room: 0, name: m.name, seconds: m.seconds, token: m.token };
        this.view.moveTo({ room: m.room, name: m.name, seconds: m.seconds, token: m.token });
        return;
      case "breakouts":
        this.view.breakoutsChanged({ open: m.open, closing: m.closing, main: m.main, rooms: m.rooms });
        return;
      case "breakout_broadcast":
        this.view.breakoutBroadcast?.(m);
        return;
      case "admin_notice":
        if (this.view.adminNotice) this.view.adminNotice(m.message);
        else this.view.notice(m.message);
        return;
      case "draining":
        this.view.notice(
          m.seconds > 0
            ? `The server is restarting within ${m.seconds} s. You will be reconnected automatically.`
            : "The server is restarting. You will be reconnected automatically.",
        );
        return;
      case "waiting_room": {
        const known = new Set(this.waitingRoom.map((e) => e.id));
        this.waitingRoom = m.entries;
        this.view.waitingRoomChanged(m.entries.filter((e) => !known.has(e.id)));
        if (m.guessing && !this.guessing) {
          this.view.notice("Someone is trying wrong passcodes for this meeting. Admit only people you know; you can lock the meeting.");
        }
        this.guessing = m.guessing;
        return;
      }
      case "media_stopped":
        void this.stoppedByHost(m);
        return;
      case "recording":
        this.view.recordingChanged?.(m);
        return;
      case "error":
        this.serverError(m);
        return;
      case "participant_left": {
        const gone = this.roster.get(m.id);
        if (!this.roster.remove(m.id)) return;
        if (m.reason === "removed" && gone && isModerator(this.role)) this.view.notice(`${gone.name} was removed from the meeting.`);
        this.view.rosterChanged();
        return;
      }
      case "e2ee_job":
      case "e2ee_commit":
      case "e2ee_commit_ok":
      case "e2ee_welcome":
      case "e2ee_message":
        this.secure?.handle(m);
        return;
      default:
        return; // errors are logged by the signal client; nothing to show
    }
  }

  private async publishScreen(): Promise<void> {
    await this.call?.setTrack("screen", this.media.screen);
    if (this.media.screenAudio) await this.call?.setTrack("screen-audio", this.media.screenAudio);
  }

  /** A local track ended by itself: the browser's "Stop sharing", or a device went away. */
  private async trackEnded(source: LocalSource): Promise<void> {
    if (this.ended) return;
    if (source === "screen") {
      // The browser's own "Stop sharing" button: end the share as ours would.
      await this.stopScreenShare();
    } else if (source === "screen-audio") {
      await this.call?.unpublish("screen-audio");
    } else {
      await this.call?.setTrack(source, null);
      this.view.notice(source === "microphone" ? "Your microphone stopped working." : "Your camera stopped working.");
    }
    this.mediaChanged();
  }

  private mediaChanged(): void {
    this.sendMedia();
    this.view.localChanged();
    this.view.rosterChanged();
  }

  private sendMedia(): void {
    const id = this.signal.send({ type: "media", ...this.state });
    if (id === null) return;
    this.mediaIds.push(id);
    if (this.mediaIds.length > MEDIA_IDS_KEPT) this.mediaIds.shift();
  }

  /** Hosts: a message to everyone in every room, sealed (breakout-broadcast.ts) or, without end-to-end encryption, in clear. */
  broadcastToRooms(m: { payload: string } | { text: string }): void {
    this.sendControl({ type: "breakout_broadcast", ...m });
  }

  private sendControl(m: ClientMessage): void {
    if (m.type === "admit") {
      // Admitting is also adding them to the encrypted group: our client
      // will be asked to, and agrees only for those we admitted.
      this.secure?.admitting("all" in m ? this.waitingRoom.map((e) => e.id) : [m.participant]);
    }
    if (this.signal.send(m) === null) this.view.notice("Not connected to the meeting right now. Try again in a moment.");
  }

  /** Sends a chat message to everyone, or to one participant (end-to-end encrypted). */
  async sendChat(text: string, to: string | null): Promise<void> {
    if (!this.secure || !this.e2ee) {
      this.view.notice("Chat works in end-to-end encrypted meetings only.");
      return;
    }
    if (!this.secure.inGroup) {
      this.view.notice("Still setting up encryption. Try again in a moment.");
      return;
    }
    await this.secure.sendChat(text, to);
  }

  /**
   * A host turned a device off: the server no longer forwards it in any
   * case; turn it off here too, so the buttons tell the truth and the
   * camera light goes off.
   */
  private async stoppedByHost(m: MediaStopped): Promise<void> {
    if (this.ended) return;
    const by = m.by || "A host";
    if (m.source === "microphone") {
      this.mutedByHost = true;
      await this.call?.setTrack("microphone", null);
      this.media.stopMic();
      // Cleared again: a publish that ran meanwhile (the answer to "send
      // without encryption?" resolving) put the old track back on the sender.
      await this.call?.setTrack("microphone", this.media.mic);
      this.view.notice(this.mayUnmute ? `${by} muted you.` : `${by} muted you. Only hosts can unmute you in this meeting.`);
    } else if (m.source === "camera") {
      await this.call?.setTrack("camera", null);
      this.media.stopCamera();
      await this.call?.setTrack("camera", this.media.camera); // as for the microphone
      this.view.notice(`${by} stopped your video.`);
    } else if (m.source === "screen") {
      await this.stopScreenShare();
      this.view.notice(`${by} stopped your screen share.`);
    } else {
      return;
    }
    this.mediaChanged();
  }

  /** The role or the settings changed: stop what is no longer allowed, and let the view re-check its buttons. */
  private permissionsChanged(): void {
    if (this.media.screen !== null && !this.mayShareScreen) {
      void this.stopScreenShare().then(() => {
        this.view.notice("Only hosts can share their screen now, so your screen share stopped.");
        this.mediaChanged();
      });
    }
    this.view.localChanged();
  }

  private async stopScreenShare(): Promise<void> {
    await this.call?.unpublish("screen");
    await this.call?.unpublish("screen-audio");
    this.media.stopScreen();
  }

  private serverError(e: ServerError): void {
    if (e.code === "e2ee_key_package" && this.secure) {
      // The member adding us could not use our KeyPackage: come back with a fresh one.
      void this.secure.renewKeyPackage().then(() => this.signal.reconnect());
      return;
    }
    if (e.code === "forbidden" && e.ref !== undefined && this.mediaIds.includes(e.ref)) {
      // The server refused a `media` change and keeps not forwarding what it
      // refused: an unmute after a host's mute, or a screen share. Undo it here.
      void this.undoRefusedMedia();
    }
    if (SHOWN_ERRORS.has(e.code)) this.view.notice(e.message);
  }

  private async undoRefusedMedia(): Promise<void> {
    if (this.media.mic !== null && !mayUnmute(this.role, this.settings, true)) {
      this.mutedByHost = true;
      await this.call?.setTrack("microphone", null);
      this.media.stopMic();
    }
    if (this.media.screen !== null && !this.mayShareScreen) await this.stopScreenShare();
    this.mediaChanged();
  }

  private async exclusive(what: "mic" | "camera" | "screen", fn: () => Promise<void>): Promise<void> {
    if (this.busy.has(what) || this.ended) return;
    this.busy.add(what);
    this.view.localChanged();
    try {
      await fn();
    } finally {
      this.busy.delete(what);
      this.view.localChanged();
    }
  }

  private dropCall(): void {
    this.call?.close();
    this.call = null;
  }

  /**
   * Leaves this room for another (a breakout room, or back): `leave`, and
   * the call and the encryption of this room end, but the camera and
   * microphone keep running for the next room's session.
   */
  leaveForMove(): void {
    if (this.ended) return;
    this.ended = true;
    this.endState = this.state;
    this.signal.leave();
    this.dropCall();
    this.secure?.close();
  }

  /** Stops everything local; the session cannot be used again. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.endState = this.state;
    this.signal.close();
    this.dropCall();
    this.secure?.close();
    this.media.onEnded = () => {};
    this.blur.onChange = () => {};
    this.blur.close();
    this.media.stopAll();
  }

  /**
   * Ends the session when the page goes away, without `leave`: the server
   * keeps the place for its resume grace, which a reload of this tab takes
   * back (resume.ts); a closed tab is gone when the grace ends. Without
   * a kept token (waiting, or no sessionStorage) it leaves, as before.
   */
  pageHidden(): void {
    if (this.ended) return;
    if (this.resume?.initial == null) {
      this.leave();
      return;
    }
    const s = this.state;
    this.resume.pageLeaving(s.audio, s.video);
    this.end();
  }
}
