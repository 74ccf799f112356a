// The signalling connection: one WebSocket to /ws that says `hello`, keeps
// itself alive with `ping` (in the waiting room too), and after a loss
// reconnects with backoff, handing the server the resume token from the last
// `welcome` so the participant takes back its place. The token can also be
// kept outside the client (ResumeKeeper: the tab's sessionStorage), so a
// reloaded page resumes too; it is dropped once it can no longer serve. It
// knows nothing of media or of the page.

import { markTiming } from "../app.js";
import { Backoff, RECONNECT, type BackoffOptions } from "../lib/backoff.js";
import {
  CLIENT_SOFTWARE,
  PROTOCOL_VERSION,
  parseServerMessage,
  type ClientMessage,
  type Hello,
  type ServerMessage,
  type Welcome,
} from "./protocol.js";
import { fragmentWithPasscode, redirectLine, redirectTarget } from "./region-redirect.js";

/** The part of the WebSocket API this client uses (so tests can fake it). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const OPEN = 1;

export const browserClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Everything of `hello` except what the connection itself adds (type, v, client, resume). */
export type HelloFields = Omit<Hello, "type" | "v" | "client" | "resume">;

export interface SignalEvents {
  /** A `welcome`: joined for the first time, or again after a reconnect. */
  welcome(w: Welcome): void;
  /** `waiting`: in the waiting room, for the reason given ("host_absent" or "waiting_room"). */
  waiting(reason: string): void;
  /** Any message after `welcome` other than `pong`. */
  message(m: ServerMessage): void;
  /**
   * The connection was lost (or could not be made) and another attempt is
   * planned in `retryInMs`. `joined` says whether a `welcome` had been
   * received before, i.e. whether this is a reconnect rather than a first join.
   * `message` is the server's sentence when it said `closed` first.
   */
  lost(info: { retryInMs: number; joined: boolean; message?: string }): void;
  /**
   * The session is over and will not be retried: `refused` (code is the
   * refused code, e.g. "denied" after waiting), `closed` with reason
   * `replaced`, `removed`, `ended`, `flooding`, `signed_out`, `account_suspended` or `account_deleted` (code is the reason), or the outage
   * lasted too long (code "connection_lost").
   */
  fatal(code: string, message: string): void;
}

/** Where the resume token is kept beyond this client (e.g. for a reload of the page). */
export interface ResumeKeeper {
  /** A token kept from before (a reloaded page), sent in the first hello; null: a fresh join. */
  readonly initial: string | null;
  /** A `welcome` handed out this token. */
  save(token: string): void;
  /** The token can no longer be used: left, refused, removed, given up, or not resumed. */
  forget(): void;
}

export interface SignalOptions {
  url: string;
  /** Keeps the resume token beyond this client (absent: in memory only). */
  resume?: ResumeKeeper;
  hello: () => HelloFields;
  events: SignalEvents;
  connect?: (url: string) => SocketLike;
  clock?: Clock;
  backoff?: BackoffOptions;
  /** How long without any message from the server counts as a lost connection; also the ping interval. */
  keepaliveMs?: number;
  /** How long to wait for the socket to open and `welcome` (or `waiting`) to arrive. */
  joinTimeoutMs?: number;
}

/**
 * `closed` reasons after which the client must not come back (docs/protocol.md, `closed`).
 * `breakout_ended`: the breakout room is gone, and coming back to it would only be refused (`breakout_closed`).
 */
const FINAL_CLOSE_REASONS: ReadonlySet<string> = new Set(["replaced", "removed", "ended", "flooding", "signed_out", "account_suspended", "account_deleted", "breakout_ended"]);

export class SignalClient {
  private socket: SocketLike | null = null;
  private welcomed = false;
  /** In the waiting room on the current socket: only `ping` and `leave` may be sent. */
  private waiting = false;
  private joinedOnce = false;
  private stopped = false;
  /** The passcode the last hello gave, carried to another node by a region redirect. */
  private helloPasscode: string | undefined;
  private resume: string | null = null;
  private closedMessage: string | undefined;
  private lastReceived = 0;
  private lastPing: number | null = null;
  private timer: unknown = null; // join timeout, keepalive tick or reconnect wait: never two at once
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private readonly connectSocket: (url: string) => SocketLike;
  private readonly keepaliveMs: number;
  private readonly joinTimeoutMs: number;
  private nextId = 1;

  constructor(private readonly opts: SignalOptions) {
    this.clock = opts.clock ?? browserClock;
    this.backoff = new Backoff(opts.backoff ?? RECONNECT);
    this.connectSocket = opts.connect ?? ((url) => new WebSocket(url));
    this.keepaliveMs = opts.keepaliveMs ?? 10_000;
    this.joinTimeoutMs = opts.joinTimeoutMs ?? 10_000;
    this.resume = opts.resume?.initial ?? null;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** True while joined: a `welcome` arrived on the current socket and it is open. */
  get connected(): boolean {
    return this.welcomed && this.socket !== null && this.socket.readyState === OPEN;
  }

  /**
   * Sends a message on the joined connection and returns its id (echoed as
   * `ref` by an `error` it causes), or null when not connected: the caller
   * resynchronises after the next `welcome` instead of queueing.
   */
  send(msg: ClientMessage): number | null {
    if (!this.connected) return null;
    const id = this.nextId++;
    this.socket!.send(JSON.stringify({ ...msg, id }));
    return id;
  }

  /** Leaves the meeting (or the waiting room): `leave`, then the server closes the socket. Never reconnects. */
  leave(): void {
    if (this.socket !== null && this.socket.readyState === OPEN && (this.welcomed || this.waiting)) {
      this.socket.send(JSON.stringify({ type: "leave" }));
    }
    this.forgetResume();
    this.stop(false);
  }

  /**
   * Drops the connection and reconnects as after a loss (resuming the
   * participant), which gives both sides fresh peer connections: the last
   * resort when media cannot connect.
   */
  reconnect(): void {
    if (!this.stopped && this.socket !== null) this.fail();
  }

  /** Stops without a word to the server (the page is going away, or the session failed). */
  close(): void {
    this.stop(true);
  }

  private stop(closeNow: boolean): void {
    this.stopped = true;
    this.clearTimer();
    const s = this.socket;
    if (!s) return;
    this.detach(s);
    // After `leave` the server closes the socket; closing it ourselves right
    // away could cut the message off, so only make sure it goes eventually.
    if (closeNow) s.close(1000);
    else this.clock.setTimeout(() => s.close(1000), 2000);
    this.socket = null;
    this.welcomed = false;
    this.waiting = false;
  }

  private connect(): void {
    this.clearTimer();
    this.welcomed = false;
    this.waiting = false;
    this.lastPing = null;
    this.closedMessage = undefined;
    let s: SocketLike;
    try {
      s = this.connectSocket(this.opts.url);
    } catch {
      this.fail();
      return;
    }
    this.socket = s;
    s.onopen = () => {
      markTiming("socketOpen");
      this.sendHello();
    };
    s.onmessage = (ev) => this.receive(ev.data);
    s.onclose = () => this.fail();
    s.onerror = () => {}; // a close event follows
    this.timer = this.clock.setTimeout(() => this.fail(), this.joinTimeoutMs);
  }

  private sendHello(): void {
    const hello: Hello = {
      type: "hello",
      v: PROTOCOL_VERSION,
      client: CLIENT_SOFTWARE,
      ...this.opts.hello(),
    };
    if (this.resume !== null) hello.resume = this.resume;
    this.helloPasscode = hello.passcode;
    this.socket?.send(JSON.stringify(hello));
  }

  private receive(data: unknown): void {
    if (typeof data !== "string") return;
    this.lastReceived = this.clock.now();
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      console.warn("kaigi: ignoring a server message:", parsed.reason);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case "welcome":
        if (this.welcomed) return;
        this.welcomed = true;
        this.waiting = false;
        this.joinedOnce = true;
        this.resume = m.resume;
        this.opts.resume?.save(m.resume);
        this.backoff.reset();
        this.scheduleKeepalive();
        this.opts.events.welcome(m);
        return;
      case "refused":
        if (m.code === "server_draining") {
          // The server is about to restart: try again, as after a lost connection.
          this.closedMessage = m.message;
          return;
        }
        this.forgetResume();
        this.stop(true);
        {
          // region_not_allowed with a node inside the meeting's regions: the same link there.
          const here = m.redirect === null || typeof location === "undefined" ? null : location;
          const hash = here === null ? "" : fragmentWithPasscode(here.hash, this.helloPasscode);
          const to = here === null ? null : redirectTarget(m.redirect, { origin: here.origin, pathname: here.pathname, search: here.search, hash });
          this.opts.events.fatal(m.code, to === null ? m.message : redirectLine(null, to));
          if (to !== null) location.assign(to);
        }
        return;
      case "waiting":
        if (this.welcomed) return;
        // Not (or no longer) admitted: there is no place to take back.
        this.forgetResume();
        // No welcome is due until a host lets us in: keep the socket alive
        // instead of timing the join out.
        this.waiting = true;
        this.backoff.reset();
        this.scheduleKeepalive();
        this.opts.events.waiting(m.reason);
        return;
      case "closed":
        if (FINAL_CLOSE_REASONS.has(m.reason)) {
          this.forgetResume();
          this.stop(true);
          this.opts.events.fatal(m.reason, m.message);
        } else {
          // `shutdown` (or a reason this client does not know): the server
          // goes away; try to come back, as after any other loss.
          this.closedMessage = m.message;
        }
        return;
      case "pong":
        return;
      case "error":
        console.warn(`kaigi: server error ${m.code}${m.ref !== undefined ? ` (message ${m.ref})` : ""}: ${m.message}`);
        if (this.welcomed) this.opts.events.message(m);
        return;
      default:
        if (this.welcomed) this.opts.events.message(m);
    }
  }

  private scheduleKeepalive(): void {
    this.clearTimer();
    this.timer = this.clock.setTimeout(() => this.keepalive(), this.keepaliveMs);
  }

  private keepalive(): void {
    this.timer = null;
    if (this.lastPing !== null && this.lastReceived < this.lastPing) {
      this.fail(); // nothing at all for a whole interval after a ping
      return;
    }
    this.lastPing = this.clock.now();
    this.socket?.send(JSON.stringify({ type: "ping" }));
    this.scheduleKeepalive();
  }

  private fail(): void {
    if (this.stopped) return;
    this.clearTimer();
    const s = this.socket;
    if (s) {
      this.detach(s);
      try {
        s.close(4000, "connection lost");
      } catch {
        // already closed
      }
    }
    this.socket = null;
    this.welcomed = false;
    this.waiting = false;
    const delay = this.backoff.next(this.clock.now());
    if (delay === null) {
      this.forgetResume();
      this.stopped = true;
      this.opts.events.fatal("connection_lost", "The connection to the server was lost and could not be restored.");
      return;
    }
    const info: { retryInMs: number; joined: boolean; message?: string } = { retryInMs: delay, joined: this.joinedOnce };
    if (this.closedMessage !== undefined) info.message = this.closedMessage;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
    this.opts.events.lost(info);
  }

  private forgetResume(): void {
    this.resume = null;
    this.opts.resume?.forget();
  }

  private detach(s: SocketLike): void {
    s.onopen = null;
    s.onmessage = null;
    s.onclose = null;
    s.onerror = null;
  }

  private clearTimer(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The WebSocket address of the signalling endpoint on this page's origin. */
export function signalUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}
