// One RTCPeerConnection to the server carrying everything this participant
// sends and receives (docs/protocol.md, "Media negotiation").
//
// Offers never cross (docs/protocol.md, "Media negotiation"): the client
// offers when what it publishes changes; the server asks for a turn with
// `renegotiate`, and the client grants it with `ready` once stable, sending
// no offer of its own until it has answered the server's. No rollback is
// ever needed. All negotiation work (offers, answers, candidates) runs one
// step at a time in arrival order.
//
// Two workarounds for Chrome, which was seen (against a test SFU) to gather
// no ICE candidates ever again after its very first offer was rolled back:
// if the first offer collides, the client starts afresh on a new peer
// connection instead of rolling back; and after the first negotiation it
// offers only once candidate gathering is complete or ICE has connected. If
// ICE still does not connect, the owner is told (iceFailed) and restarts it.
//
// TURN relays (relays.ts): a call may start without them, holding them
// back. Until ICE first connects it then gets a short timeout
// (directTimeoutMs), and when that passes or ICE fails the owner is told as
// for any failure; it adds the relays (addRelays) and restarts ICE. After
// that, or once ICE connected, the usual timeout holds.

import {
  kindOfSource,
  type Kind,
  type Candidate,
  type ClientMessage,
  type PublishedTrack,
  type ServerAnswer,
  type ServerOffer,
  type Source,
  type Track,
} from "./protocol.js";
import { DIRECT_TIMEOUT_MS } from "./relays.js";
import { reconcile, type Binding, type Receiver } from "./tracks.js";

export type RemoteTrack = Binding<MediaStreamTrack>;

export interface CallOptions {
  iceServers: RTCIceServer[];
  send(msg: ClientMessage): void;
  /** The set of received tracks, or whom they belong to, changed. */
  remoteTracksChanged(): void;
  /** ICE failed, or did not connect in time: the owner decides what to do (restart it, if signalling works). */
  iceFailed(): void;
  /** ICE connected (again). */
  iceConnected?(): void;
  /**
   * End-to-end encryption: protect each sending transceiver before it
   * carries media, saying whether it did, and each receiver as its track
   * arrives. With `protect`, a track goes only on a sender it protected.
   */
  protect?: {
    sender(sender: RTCRtpSender, source: Source, kind: Kind): boolean;
    receiver(receiver: RTCRtpReceiver, mid: string, kind: Kind, from: string | undefined): void;
  };
  /**
   * Whether local media may go out now (send-policy.ts), asked on every
   * setTrack: while it says no, senders carry no track. Without it, yes.
   */
  maySend?(): boolean;
  /**
   * Publish the camera as three simulcast encodings (the server said it
   * takes them: `welcome.simulcast`).
   */
  simulcast?: boolean;
  /**
   * What goes on the camera's sender for a camera track (background blur:
   * its processed track); applied on every setTrack of the camera.
   */
  camera?(track: MediaStreamTrack | null): MediaStreamTrack | null;
  /** For tests: the peer connection to use. */
  peerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  /** For tests: a stream to name in `streams` of new transceivers. */
  stream?: () => MediaStream;
  /**
   * How long ICE may go without connecting before it counts as failed
   * (0: never). Browsers can sit in "new" or "checking" for good, for example
   * when a rollback interrupted candidate gathering; "failed" alone would
   * never come then.
   */
  connectTimeoutMs?: number;
  /**
   * Every ICE server, TURN relays included, held back while the call tries
   * `iceServers` (the same without relays) directly: addRelays switches to
   * them. Absent: nothing held back.
   */
  relays?: RTCIceServer[];
  /**
   * While relays are held back, how long ICE may go without connecting
   * before it counts as failed (relays.ts, DIRECT_TIMEOUT_MS, says why 3 s).
   */
  directTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The camera's simulcast encodings (docs/protocol.md, "Simulcast"): a
 * quarter, half and full size, lowest first. The server forwards one to
 * each subscriber; the browser drops the upper ones when its uplink is
 * short.
 */
export const SIMULCAST_ENCODINGS: RTCRtpEncodingParameters[] = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

export interface InboundStats {
  participant: string;
  source: Source;
  kind: string;
  packetsReceived: number;
  bytesReceived: number;
  framesDecoded: number;
  totalSamplesReceived: number;
  /** The size of the last decoded frame (video; 0 before the first): which simulcast layer arrives. */
  frameWidth: number;
  frameHeight: number;
}

export interface OutboundStats {
  source: Source;
  /** The sender carries a track. */
  track: boolean;
  packetsSent: number;
  bytesSent: number;
  /** The largest frame the encoder sends now (over the simulcast layers): the top layer a subscriber can get. */
  frameWidth: number;
  frameHeight: number;
}

export class Call {
  private readonly pc: RTCPeerConnection;
  /** An offer of ours is owed: what we publish changed. */
  private offerNeeded = false;
  /** The server asked for a turn (`renegotiate`) that we have not granted yet. */
  private turnAsked = false;
  /** We granted the server a turn (`ready`) and await its offer. */
  private serverTurn = false;
  private steps: Promise<void> = Promise.resolve();
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private readonly own = new Map<Source, RTCRtpTransceiver>();
  /** Senders that end-to-end encryption protects. */
  private readonly protectedSenders = new Set<RTCRtpSender>();
  private readonly streams = new Map<"camera" | "screen", MediaStream>();
  private mapping: Track[] = [];
  private bindings = new Map<string, RemoteTrack>();
  private closed = false;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** The ICE servers with relays, while they are held back. */
  private relaysHeld: RTCIceServer[] | null;
  /** ICE connected at least once (directly, while relays are held back). */
  private connectedOnce = false;

  constructor(private readonly opts: CallOptions) {
    this.relaysHeld = opts.relays ?? null;
    this.pc = this.newPeerConnection();
  }

  private static config(iceServers: RTCIceServer[]): RTCConfiguration {
    return { iceServers, bundlePolicy: "max-bundle" };
  }

  private newPeerConnection(): RTCPeerConnection {
    const config = Call.config(this.opts.iceServers);
    const pc = this.opts.peerConnection ? this.opts.peerConnection(config) : new RTCPeerConnection(config);
    pc.onnegotiationneeded = () => {
      this.offerNeeded = true;
      this.step(() => this.settle());
    };
    pc.onicecandidate = (ev) => {
      // A null candidate or an empty string marks the end of gathering; the
      // protocol has no use for it.
      if (ev.candidate && ev.candidate.candidate !== "") {
        this.opts.send({ type: "candidate", candidate: ev.candidate.toJSON() as Candidate });
      }
    };
    pc.ontrack = (ev: RTCTrackEvent) => {
      const mid = ev.transceiver?.mid ?? "";
      this.opts.protect?.receiver(ev.receiver, mid, ev.track.kind as Kind, this.mapping.find((t) => t.mid === mid)?.participant);
      this.bind();
    };
    pc.oniceconnectionstatechange = () => {
      const state = pc.iceConnectionState;
      if (state === "connected" || state === "completed") {
        clearTimeout(this.connectTimer);
        this.connectTimer = undefined;
        this.connectedOnce = true;
        this.opts.iceConnected?.();
        return;
      }
      if (state === "failed") this.opts.iceFailed();
      this.watchConnection();
    };
    return pc;
  }

  private static detach(pc: RTCPeerConnection): void {
    pc.onnegotiationneeded = null;
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.oniceconnectionstatechange = null;
    pc.close();
  }

  /**
   * Reports ICE as failed if it has not connected within the timeout, and
   * keeps watching. Only once something was negotiated: a participant with
   * nothing to send or receive yet has no connection to wait for.
   */
  private watchConnection(): void {
    // The short timeout is for the first direct attempt only: a connection
    // that worked gets the usual time to come back by itself.
    const direct = this.relaysHeld !== null && !this.connectedOnce;
    const ms = direct ? (this.opts.directTimeoutMs ?? DIRECT_TIMEOUT_MS) : (this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    if (ms <= 0 || this.connectTimer !== undefined || this.closed || this.pc.remoteDescription === null) return;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      const state = this.pc.iceConnectionState;
      if (this.closed || state === "connected" || state === "completed") return;
      this.opts.iceFailed();
      this.watchConnection();
    }, ms);
  }

  /** Whether relays are held back: the call has tried only the direct path. */
  get holdsRelays(): boolean {
    return this.relaysHeld !== null && !this.closed;
  }

  /** Whether ICE is in the "failed" state now (not merely slow to connect). */
  get iceFailedOutright(): boolean {
    return !this.closed && this.pc.iceConnectionState === "failed";
  }

  /** Whether ICE has connected at least once. */
  get hasConnected(): boolean {
    return this.connectedOnce;
  }

  /**
   * Puts the held-back relays into the peer connection's configuration; the
   * owner's ICE restart then gathers relay candidates. Once only. Returns
   * false when the browser would not take them (no setConfiguration, or it
   * refused): then only a new peer connection gets them.
   */
  addRelays(): boolean {
    const all = this.relaysHeld;
    if (all === null || this.closed) return false;
    this.relaysHeld = null;
    // The direct attempt's short timer gives way to the usual one.
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    try {
      if (typeof this.pc.setConfiguration !== "function") return false;
      this.pc.setConfiguration(Call.config(all));
    } catch (e) {
      console.warn("kaigi: could not add the TURN relays to the peer connection:", e);
      return false;
    } finally {
      this.watchConnection();
    }
    return true;
  }

  // ---- what we send --------------------------------------------------------

  /**
   * Sends `track` as `source`, or nothing (null) while keeping the source
   * published, which is how a muted microphone or a stopped camera stops
   * sending media. The first call for a source creates its sendonly
   * transceiver, which needs a negotiation; later calls only replace the
   * track, which does not.
   */
  async setTrack(source: Source, track: MediaStreamTrack | null): Promise<void> {
    if (this.closed) return;
    if (source === "camera" && this.opts.camera) track = this.opts.camera(track);
    let t = this.own.get(source);
    if (!t) {
      const stream = this.streamFor(source);
      const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [stream] };
      if (source === "camera" && this.opts.simulcast) init.sendEncodings = SIMULCAST_ENCODINGS.map((e) => ({ ...e }));
      // Created without its track, which goes on only once the sender is
      // protected (and sending is allowed).
      t = this.pc.addTransceiver(kindOfSource(source), init);
      if (this.opts.protect?.sender(t.sender, source, kindOfSource(source))) this.protectedSenders.add(t.sender);
      this.own.set(source, t);
    } else if (t.direction !== "sendonly") {
      t.direction = "sendonly"; // published again: renegotiates
    }
    await t.sender.replaceTrack(this.mayCarry(t.sender) ? track : null);
  }

  /**
   * The one place that decides whether a sender may carry a track: only
   * while sending is allowed and, with end-to-end encryption, only once the
   * sender is protected. Nothing ever goes out in clear by mistake.
   */
  private mayCarry(sender: RTCRtpSender): boolean {
    if (this.opts.maySend && !this.opts.maySend()) return false;
    return !this.opts.protect || this.protectedSenders.has(sender);
  }

  /** Stops publishing `source` (a screen share ended): its transceiver goes inactive and leaves `tracks`. */
  async unpublish(source: Source): Promise<void> {
    const t = this.own.get(source);
    if (!t || this.closed) return;
    if (t.direction !== "inactive") t.direction = "inactive";
    await t.sender.replaceTrack(null);
  }

  /** The client's sending transceivers, for a client offer's `tracks`. */
  published(): PublishedTrack[] {
    const out: PublishedTrack[] = [];
    for (const [source, t] of this.own) {
      if (t.mid !== null && t.direction === "sendonly") out.push({ mid: t.mid, source });
    }
    return out;
  }

  private streamFor(source: Source): MediaStream {
    const key = source === "screen" || source === "screen-audio" ? "screen" : "camera";
    let s = this.streams.get(key);
    if (!s) {
      s = this.opts.stream ? this.opts.stream() : new MediaStream();
      this.streams.set(key, s);
    }
    return s;
  }

  // ---- negotiation ---------------------------------------------------------------

  /** The server asks for a turn to offer. */
  handleRenegotiate(): void {
    this.step(async () => {
      this.turnAsked = true;
      await this.settle();
    });
  }

  handleOffer(offer: ServerOffer): void {
    this.step(async () => {
      if (!this.serverTurn || this.pc.signalingState !== "stable") {
        // The server offers only in a turn we granted; anything else is a
        // server bug that we must not paper over with a rollback.
        console.warn("kaigi: ignoring a server offer out of turn");
        return;
      }
      const previous = this.mapping;
      this.mapping = offer.tracks;
      try {
        await this.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      } catch (e) {
        this.mapping = previous;
        throw e;
      }
      await this.addPendingCandidates();
      this.watchConnection();
      await this.pc.setLocalDescription();
      const answer = this.pc.localDescription;
      if (answer) this.opts.send({ type: "answer", sdp: answer.sdp });
      this.serverTurn = false;
      this.bind();
      await this.settle();
    });
  }

  handleAnswer(answer: ServerAnswer): void {
    this.step(async () => {
      if (this.pc.signalingState !== "have-local-offer") {
        console.warn("kaigi: ignoring an answer in state", this.pc.signalingState);
        return;
      }
      await this.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      await this.addPendingCandidates();
      this.watchConnection();
      this.bind();
      await this.settle();
    });
  }

  handleCandidate(c: Candidate): void {
    if (c.candidate === "") return; // end of candidates
    this.step(async () => {
      // While our offer awaits its answer the server's candidates wait too:
      // after an ICE restart they are the new generation's, and the SFU
      // may send them before the answer that brings it (it gathers as it
      // applies the offer); added to the old generation they are lost,
      // and the restart has nothing to check (seen in Firefox: ICE failed
      // 5 s after the relay fallback's restart). The answer adds them.
      if (this.pc.remoteDescription === null || this.pc.signalingState === "have-local-offer") {
        this.pendingCandidates.push(c);
        return;
      }
      await this.addCandidate(c);
    });
  }

  /** Starts an ICE restart: the next client offer carries new ICE credentials. */
  restartIce(): void {
    if (this.closed) return;
    this.pc.restartIce();
    // restartIce() fires negotiationneeded, but a browser whose ICE agent is
    // stuck may not: offer anyway.
    this.offerNeeded = true;
    this.step(() => this.settle());
  }

  /**
   * Runs whenever negotiation may have settled: when stable and not in the
   * server's turn, grant the turn the server asked for, or else send the
   * offer we owe. Granting first keeps the server from waiting behind a
   * stream of our own changes.
   */
  private async settle(): Promise<void> {
    if (this.closed || this.serverTurn || this.pc.signalingState !== "stable") return;
    if (this.turnAsked) {
      this.turnAsked = false;
      this.serverTurn = true;
      this.opts.send({ type: "ready" });
      return;
    }
    if (!this.offerNeeded) return;
    this.offerNeeded = false;
    await this.pc.setLocalDescription();
    const offer = this.pc.localDescription;
    // Mids are assigned by setLocalDescription, so `tracks` can only be
    // built now.
    if (offer && offer.type === "offer") this.opts.send({ type: "offer", sdp: offer.sdp, tracks: this.published() });
  }

  private async addPendingCandidates(): Promise<void> {
    const list = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of list) await this.addCandidate(c);
  }

  private async addCandidate(c: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(c);
    } catch (e) {
      // A candidate for a description that was since replaced: harmless.
      console.debug("kaigi: candidate not added:", e);
    }
  }

  private step(fn: () => Promise<void>): void {
    this.steps = this.steps
      .then(() => (this.closed ? undefined : fn()))
      .catch((e: unknown) => console.error("kaigi: negotiation step failed:", e));
  }

  /** Resolves when every negotiation step queued so far is done (for tests and orderly shutdown). */
  settled(): Promise<void> {
    return this.steps;
  }

  // ---- what we receive -------------------------------------------------------------

  /** Joins the latest server mapping with the receivers the browser has. */
  private bind(): void {
    if (this.closed) return;
    const receivers = new Map<string, Receiver<MediaStreamTrack>>();
    const ownMids = new Set<string>();
    for (const t of this.own.values()) if (t.mid !== null) ownMids.add(t.mid);
    for (const t of this.pc.getTransceivers()) {
      if (t.mid === null || ownMids.has(t.mid)) continue;
      receivers.set(t.mid, { kind: t.receiver.track.kind, track: t.receiver.track });
    }
    const r = reconcile(this.bindings, this.mapping, receivers);
    this.bindings = r.bindings;
    if (r.added.length > 0 || r.removed.length > 0) this.opts.remoteTracksChanged();
  }

  remoteTracks(): RemoteTrack[] {
    return [...this.bindings.values()];
  }

  /** The receivers of the participants' microphones, for their audio levels (active-speaker.ts). */
  microphones(): { participant: string; receiver: RTCRtpReceiver }[] {
    const out: { participant: string; receiver: RTCRtpReceiver }[] = [];
    const byMid = new Map<string, RTCRtpTransceiver>();
    for (const t of this.pc.getTransceivers()) if (t.mid !== null) byMid.set(t.mid, t);
    for (const b of this.bindings.values()) {
      const t = b.source === "microphone" ? byMid.get(b.mid) : undefined;
      if (t) out.push({ participant: b.participant, receiver: t.receiver });
    }
    return out;
  }

  /** Inbound RTP counters of every received track, from each receiver's own statistics. */
  async stats(): Promise<InboundStats[]> {
    const byMid = new Map<string, RTCRtpTransceiver>();
    for (const t of this.pc.getTransceivers()) if (t.mid !== null) byMid.set(t.mid, t);
    const out: InboundStats[] = [];
    for (const b of this.bindings.values()) {
      const t = byMid.get(b.mid);
      if (!t) continue;
      const entry: InboundStats = {
        participant: b.participant,
        source: b.source,
        kind: b.kind,
        packetsReceived: 0,
        bytesReceived: 0,
        framesDecoded: 0,
        totalSamplesReceived: 0,
        frameWidth: 0,
        frameHeight: 0,
      };
      const report = await t.receiver.getStats();
      report.forEach((s: Record<string, unknown>) => {
        if (s.type !== "inbound-rtp") return;
        entry.packetsReceived += num(s.packetsReceived);
        entry.bytesReceived += num(s.bytesReceived);
        entry.framesDecoded += num(s.framesDecoded);
        entry.totalSamplesReceived += num(s.totalSamplesReceived);
        entry.frameWidth = Math.max(entry.frameWidth, num(s.frameWidth));
        entry.frameHeight = Math.max(entry.frameHeight, num(s.frameHeight));
      });
      out.push(entry);
    }
    return out;
  }

  /** What each of our senders carries and has sent, from its outbound RTP statistics. */
  async outbound(): Promise<OutboundStats[]> {
    const out: OutboundStats[] = [];
    for (const [source, t] of this.own) {
      const entry: OutboundStats = { source, track: t.sender.track !== null, packetsSent: 0, bytesSent: 0, frameWidth: 0, frameHeight: 0 };
      const report = await t.sender.getStats();
      report.forEach((s: Record<string, unknown>) => {
        if (s.type !== "outbound-rtp") return;
        entry.packetsSent += num(s.packetsSent);
        entry.bytesSent += num(s.bytesSent);
        if (num(s.frameWidth) > entry.frameWidth) [entry.frameWidth, entry.frameHeight] = [num(s.frameWidth), num(s.frameHeight)];
      });
      out.push(entry);
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    Call.detach(this.pc);
    this.bindings = new Map();
  }
}

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}
