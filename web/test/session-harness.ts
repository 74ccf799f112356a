// A scripted meeting server for unit tests of src/meeting/session.ts: the
// session is given a real SignalClient whose WebSocket is a FakeSocket the
// test writes frames into (so what a hostile server sends goes through the
// real parser and the real `closed`/`refused` rules), a clock whose time
// moves only when the test says so, a FakeCall in place of each welcome's
// RTCPeerConnection, fake devices, and a view that records what it is told.
// The session's own handlers (`events`) are kept too, for feeding it what
// the signalling client would never pass on.

import { Call, type CallOptions } from "../src/meeting/call.js";
import { LocalMedia, type ScreenResult } from "../src/meeting/devices.js";
import type { Move, BreakoutStatus } from "../src/meeting/breakouts.js";
import type { Source, WaitingEntry } from "../src/meeting/protocol.js";
import { TabResume, type ResumeStorage } from "../src/meeting/resume.js";
import type { SecureMeeting } from "../src/meeting/secure.js";
import { SendPolicy, type E2eeMemory, type Known } from "../src/meeting/send-policy.js";
import { MeetingSession, type SessionStatus, type SessionView } from "../src/meeting/session.js";
import { SignalClient, type SignalEvents, type SocketLike } from "../src/meeting/signal.js";
import { FakeClock } from "./fake-clock.js";
import type { RelayMemory } from "../src/meeting/relays.js";
import type { KeptResume } from "../src/lib/storage.js";

// The session names its signalling URL from the page's location.
Object.assign(globalThis, { location: { protocol: "https:", host: "kaigi.test" } });

/** The server's end of one WebSocket. */
export class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: Record<string, unknown>[] = [];
  closedWith: number | undefined;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  /** A frame from the server, as JSON. */
  receive(msg: unknown): void {
    this.raw(JSON.stringify(msg));
  }
  /** A frame from the server, as it is. */
  raw(data: unknown): void {
    this.onmessage?.({ data } as MessageEvent);
  }
  /** The connection goes away without a word. */
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006 } as CloseEvent);
  }
  ofType(type: string): Record<string, unknown>[] {
    return this.sent.filter((m) => m.type === type);
  }
}

/** A local track: stopping it is what turns a camera light off. */
export class FakeTrack {
  stopped = false;
  onended: (() => void) | null = null;
  constructor(readonly kind: "audio" | "video") {}
  stop(): void {
    this.stopped = true;
  }
  asTrack(): MediaStreamTrack {
    return this as unknown as MediaStreamTrack;
  }
}

/** The person's devices: each start succeeds with a fresh FakeTrack. */
export class FakeMedia extends LocalMedia {
  override async startMic(): Promise<null> {
    this.mic = new FakeTrack("audio").asTrack();
    return null;
  }
  override async startCamera(): Promise<null> {
    this.camera = new FakeTrack("video").asTrack();
    return null;
  }
  override async startScreen(): Promise<ScreenResult> {
    this.screen = new FakeTrack("video").asTrack();
    return { ok: true };
  }
}

/** The call of one welcome: records what the session asks of it, no WebRTC. */
export class FakeCall extends Call {
  readonly log: string[] = [];
  /** The track the session last put on each source (null: none). */
  readonly tracks = new Map<Source, MediaStreamTrack | null>();
  isClosed = false;
  /** What addRelays gave the peer connection's setConfiguration. */
  readonly configurations: RTCConfiguration[];
  /** `browser.setConfiguration`: false for a browser whose peer connection lacks it. */
  constructor(
    readonly options: CallOptions,
    browser: { setConfiguration: boolean } = { setConfiguration: true },
  ) {
    const configurations: RTCConfiguration[] = [];
    const pc = {
      close: () => {},
      ...(browser.setConfiguration ? { setConfiguration: (c: RTCConfiguration) => void configurations.push(c) } : {}),
    } as unknown as RTCPeerConnection;
    // No timers of its own: the tests say when ICE fails (options.iceFailed).
    super({ ...options, peerConnection: () => pc, connectTimeoutMs: 0, directTimeoutMs: 0 });
    this.configurations = configurations;
    this.fakePc = pc;
  }
  private readonly fakePc: RTCPeerConnection;
  /** ICE goes to `state`, as the browser would say it. */
  ice(state: RTCIceConnectionState): void {
    Object.assign(this.fakePc, { iceConnectionState: state });
    this.fakePc.oniceconnectionstatechange?.call(this.fakePc, {} as Event);
  }
  override async setTrack(source: Source, track: MediaStreamTrack | null): Promise<void> {
    this.log.push(`setTrack ${source} ${track ? "on" : "off"}`);
    this.tracks.set(source, track);
  }
  override async unpublish(source: Source): Promise<void> {
    this.log.push(`unpublish ${source}`);
    this.tracks.delete(source);
  }
  override handleRenegotiate(): void {
    this.log.push("renegotiate");
  }
  override handleOffer(): void {
    this.log.push("offer");
  }
  override handleAnswer(): void {
    this.log.push("answer");
  }
  override handleCandidate(): void {
    this.log.push("candidate");
  }
  override restartIce(): void {
    this.log.push("restartIce");
  }
  override close(): void {
    this.isClosed = true;
    super.close();
  }
}

/** A view that writes down what it is told. */
export class RecordingView implements SessionView {
  readonly events: string[] = [];
  readonly statuses: { s: SessionStatus; detail?: { message?: string; retryInMs?: number } }[] = [];
  readonly notices: string[] = [];
  readonly fatals: [string, string][] = [];
  readonly moves: Move[] = [];
  /** The person's answer to "send without encryption?". */
  agrees = true;
  status(s: SessionStatus, detail?: { message?: string; retryInMs?: number }): void {
    this.events.push(`status ${s}`);
    this.statuses.push(detail ? { s, detail } : { s });
  }
  waiting(reason: string): void {
    this.events.push(`waiting ${reason}`);
  }
  rosterChanged(): void {
    this.events.push("roster");
  }
  remoteChanged(): void {
    this.events.push("remote");
  }
  localChanged(): void {
    this.events.push("local");
  }
  settingsChanged(): void {
    this.events.push("settings");
  }
  waitingRoomChanged(arrived: readonly WaitingEntry[]): void {
    this.events.push(`waitingRoom ${arrived.length}`);
  }
  fatal(code: string, message: string): void {
    this.events.push(`fatal ${code}`);
    this.fatals.push([code, message]);
  }
  notice(text: string): void {
    this.events.push("notice");
    this.notices.push(text);
  }
  securityChanged(): void {
    this.events.push("security");
  }
  mediaHealthChanged(): void {
    this.events.push("mediaHealth");
  }
  chatChanged(): void {
    this.events.push("chat");
  }
  sendingChanged(): void {
    this.events.push("sending");
  }
  confirmUnencrypted(): Promise<boolean> {
    this.events.push("confirm");
    return Promise.resolve(this.agrees);
  }
  moveTo(move: Move): void {
    this.moves.push(move);
  }
  breakoutsChanged(_status: BreakoutStatus): void {
    this.events.push("breakouts");
  }
  count(event: string): number {
    return this.events.filter((e) => e === event).length;
  }
}

/** sessionStorage for the tab's resume token. */
export class MemoryResumeStorage implements ResumeStorage {
  kept: KeptResume | null = null;
  load(): KeptResume | null {
    return this.kept;
  }
  save(_meetingId: string, kept: KeptResume): void {
    this.kept = kept;
  }
  forget(): void {
    this.kept = null;
  }
}

export const MEETING = "7k3m-q9xd-2hfa-b8rn";

export function participant(id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, name: `Name of ${id}`, role: "participant", joinedAt: "2026-01-01T00:00:00Z", audio: false, video: false, screen: false, connection: "connected", ...fields };
}

/** A `welcome` as the server writes it, for `self` among `others`. */
export function welcome(self: Record<string, unknown>, others: Record<string, unknown>[] = [], fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: "welcome", v: 1, server: "test", meeting: { id: MEETING }, self, participants: [self, ...others], resume: "tok-1", resumed: false, iceServers: [], ...fields };
}

export interface SetupOptions {
  /** What the person knew before joining (the invite link's e2ee fragment). */
  known?: Known;
  /** Devices on before joining. */
  mic?: boolean;
  camera?: boolean;
  secure?: SecureMeeting;
  /** A resume token this tab kept before a reload. */
  kept?: KeptResume;
  /** Entering a room by a move: its token and the breakout room (0: the main room). */
  move?: { token: string; room: number };
  /** The tab's memory of needed relays (shared between setups: a reload); absent: a fresh one. */
  relays?: MemoryRelays;
  /** The browser's peer connections lack setConfiguration. */
  noSetConfiguration?: boolean;
}

/** The tab's memory that TURN relays were needed (sessionStorage in the browser). */
export class MemoryRelays implements RelayMemory {
  kept = false;
  needed(): boolean {
    return this.kept;
  }
  remember(): void {
    this.kept = true;
  }
}

export function setup(o: SetupOptions = {}) {
  const clock = new FakeClock(1_000_000);
  const sockets: FakeSocket[] = [];
  const calls: FakeCall[] = [];
  const view = new RecordingView();
  const media = new FakeMedia();
  if (o.mic) media.mic = new FakeTrack("audio").asTrack();
  if (o.camera) media.camera = new FakeTrack("video").asTrack();
  const remembered = new Set<string>();
  const memory: E2eeMemory = { remember: (id) => remembered.add(id), remembers: (id) => remembered.has(id) };
  const storage = new MemoryResumeStorage();
  storage.kept = o.kept ?? null;
  const resume = new TabResume(MEETING, storage, () => clock.now());
  const relays = o.relays ?? new MemoryRelays();
  let events: SignalEvents | null = null;
  const session = new MeetingSession(
    {
      meetingId: MEETING,
      name: "Ada",
      passcode: null,
      device: "device-1",
      media,
      secure: o.secure ?? null,
      policy: new SendPolicy(MEETING, o.known ?? { link: null, announced: false }, memory),
      resume,
      ...(o.move ? { move: o.move } : {}),
      parts: {
        signal: (opts) => {
          events = opts.events;
          return new SignalClient({
            ...opts,
            clock,
            connect: (url) => {
              const s = new FakeSocket(url);
              sockets.push(s);
              return s;
            },
          });
        },
        relayMemory: relays,
        now: () => clock.now(),
        call: (opts) => {
          const c = new FakeCall(opts, { setConfiguration: !o.noSetConfiguration });
          calls.push(c);
          return c;
        },
      },
    },
    view,
  );
  const h = {
    clock,
    sockets,
    calls,
    view,
    media,
    storage,
    relays,
    session,
    /** The session's own signalling handlers. */
    get events(): SignalEvents {
      if (!events) throw new Error("the session made no signalling client");
      return events;
    },
    /** The socket the client uses now. */
    get server(): FakeSocket {
      const s = sockets[sockets.length - 1];
      if (!s) throw new Error("no socket yet");
      return s;
    },
    /** The newest call. */
    get call(): FakeCall {
      const c = calls[calls.length - 1];
      if (!c) throw new Error("no call yet");
      return c;
    },
    /** Starts, opens the socket and says `welcome`. */
    join(w: Record<string, unknown>): void {
      session.start();
      h.server.open();
      h.server.receive(w);
    },
  };
  return h;
}

/** Lets the session's pending promise work run (awaiting what it started, not time). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
