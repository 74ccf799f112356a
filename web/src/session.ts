// Being in a meeting: the signalling connection, the peer connection of the
// current connection, the roster, and what this participant sends. It owns
// the rules (publish on welcome, a fresh peer connection after every
// reconnect, `media` on every change) and tells a view what changed; it
// builds no DOM.

import { Call, type InboundStats, type RemoteTrack } from "./call.js";
import type { LocalMedia, LocalSource } from "./devices.js";
import type { MediaState, ServerMessage, Welcome } from "./protocol.js";
import { Roster } from "./roster.js";
import { SignalClient, signalUrl } from "./signal.js";

export type SessionStatus = "joining" | "in-meeting" | "reconnecting";

export interface SessionView {
  status(s: SessionStatus, detail?: { message?: string; retryInMs?: number }): void;
  rosterChanged(): void;
  remoteChanged(): void;
  localChanged(): void;
  /** The session ended without the person leaving: refused, replaced, or the connection could not be restored. */
  fatal(code: string, message: string): void;
  /** Something worth telling the person that needs no action (a device stopped …). */
  notice(text: string): void;
}

const ICE_RESTART_MIN_INTERVAL_MS = 5000;
/** ICE failures in a row (each up to 10 s without a connection) before the whole session reconnects. */
const ICE_FAILURES_BEFORE_RECONNECT = 2;

export class MeetingSession {
  readonly roster = new Roster();
  selfId: string | null = null;
  private call: Call | null = null;
  private readonly signal: SignalClient;
  private readonly busy = new Set<"mic" | "camera" | "screen">();
  private lastIceRestart = 0;
  private iceFailures = 0;
  private ended = false;
  /** What was being sent when the session ended, so a rejoin can start the same devices. */
  endState: MediaState | null = null;

  constructor(
    readonly meetingId: string,
    readonly name: string,
    readonly media: LocalMedia,
    private readonly view: SessionView,
  ) {
    this.signal = new SignalClient({
      url: signalUrl(location),
      hello: () => ({ meeting: this.meetingId, name: this.name, audio: this.media.mic !== null, video: this.media.camera !== null }),
      events: {
        welcome: (w) => this.welcome(w),
        message: (m) => this.message(m),
        lost: (info) => {
          this.dropCall();
          const detail: { message?: string; retryInMs?: number } = { retryInMs: info.retryInMs };
          if (info.message !== undefined) detail.message = info.message;
          this.view.status(info.joined ? "reconnecting" : "joining", detail);
        },
        fatal: (code, message) => {
          this.end();
          this.view.fatal(code, message);
        },
      },
    });
    this.media.onEnded = (source) => void this.trackEnded(source);
  }

  start(): void {
    this.view.status("joining");
    this.signal.start();
  }

  /** What this participant sends now, as the `media` message says it. */
  get state(): MediaState {
    return { audio: this.media.mic !== null, video: this.media.camera !== null, screen: this.media.screen !== null };
  }

  remoteTracks(): RemoteTrack[] {
    return this.call ? this.call.remoteTracks() : [];
  }

  stats(): Promise<InboundStats[]> {
    return this.call ? this.call.stats() : Promise.resolve([]);
  }

  isBusy(what: "mic" | "camera" | "screen"): boolean {
    return this.busy.has(what);
  }

  // ---- the person's controls --------------------------------------------------

  async setMic(on: boolean): Promise<void> {
    await this.exclusive("mic", async () => {
      if (on === (this.media.mic !== null)) return;
      if (on) {
        const problem = await this.media.startMic();
        if (problem) {
          this.view.notice(problem.message);
          return;
        }
        await this.call?.setTrack("microphone", this.media.mic);
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

  async setScreen(on: boolean): Promise<void> {
    await this.exclusive("screen", async () => {
      if (on === (this.media.screen !== null)) return;
      if (on) {
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
        await this.call?.unpublish("screen");
        await this.call?.unpublish("screen-audio");
        this.media.stopScreen();
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
    this.roster.reset(w.participants);
    // Whether or not the server resumed us, the old peer connection is gone
    // on its side: negotiate a fresh one and publish what we send now.
    this.dropCall();
    const call = new Call({
      iceServers: w.iceServers,
      send: (m) => void this.signal.send(m),
      remoteTracksChanged: () => this.view.remoteChanged(),
      iceFailed: () => this.iceFailed(),
      iceConnected: () => {
        this.iceFailures = 0;
      },
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
    this.view.rosterChanged();
    this.view.remoteChanged();
  }

  private message(m: ServerMessage): void {
    switch (m.type) {
      case "participant_joined":
      case "participant_updated":
        this.roster.upsert(m.participant);
        this.view.rosterChanged();
        return;
      case "participant_left":
        if (this.roster.remove(m.id)) this.view.rosterChanged();
        return;
      case "renegotiate":
        this.call?.handleRenegotiate();
        return;
      case "offer":
        this.call?.handleOffer(m);
        return;
      case "answer":
        this.call?.handleAnswer(m);
        return;
      case "candidate":
        this.call?.handleCandidate(m.candidate);
        return;
      default:
        return; // errors are logged by the signal client; nothing to show
    }
  }

  /**
   * Media does not connect: restart ICE first; if that does not help either,
   * reconnect the session, which negotiates new peer connections on both sides.
   */
  private iceFailed(): void {
    const now = Date.now();
    if (!this.signal.connected || now - this.lastIceRestart < ICE_RESTART_MIN_INTERVAL_MS) return;
    this.lastIceRestart = now;
    this.iceFailures++;
    if (this.iceFailures >= ICE_FAILURES_BEFORE_RECONNECT) {
      this.iceFailures = 0;
      console.warn("kaigi: media could not connect; reconnecting");
      this.signal.reconnect();
      return;
    }
    this.call?.restartIce();
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
      await this.call?.unpublish("screen");
      await this.call?.unpublish("screen-audio");
      this.media.stopScreen();
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
    this.signal.send({ type: "media", ...this.state });
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

  /** Stops everything local; the session cannot be used again. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.endState = this.state;
    this.signal.close();
    this.dropCall();
    this.media.onEnded = () => {};
    this.media.stopAll();
  }

  /** Ends the session when the page goes away, telling the server at once. */
  pageHidden(): void {
    if (!this.ended) this.leave();
  }
}
