// The negotiation rules of src/meeting/call.ts (turn-taking: docs/protocol.md) against a
// fake RTCPeerConnection that models the signalling states, mids, implicit
// rollback and the negotiationneeded event the way the WebRTC specification
// describes them.
// The fake's SDP is JSON: a list of {mid, kind} m-sections.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Call, type CallOptions } from "../src/meeting/call.js";
import type { ClientMessage, ServerOffer, Track } from "../src/meeting/protocol.js";

type Direction = "sendonly" | "recvonly" | "inactive" | "sendrecv" | "stopped";

class FakeTrack {
  constructor(readonly kind: string) {}
}

class FakeTransceiver {
  mid: string | null = null;
  sendEncodings: RTCRtpEncodingParameters[] | undefined;
  private dir: Direction;
  readonly sender: { track: FakeTrack | null; replaceTrack(t: FakeTrack | null): Promise<void> };
  readonly receiver: { track: FakeTrack; getStats(): Promise<Map<string, Record<string, unknown>>> };
  constructor(
    private readonly pc: FakePC,
    readonly kind: string,
    direction: Direction,
    track: FakeTrack | null,
  ) {
    this.dir = direction;
    const sender = {
      track,
      replaceTrack: async (t: FakeTrack | null) => {
        sender.track = t;
      },
    };
    this.sender = sender;
    this.receiver = {
      track: new FakeTrack(kind),
      getStats: async () =>
        new Map([["in", { type: "inbound-rtp", packetsReceived: 10, bytesReceived: 1000, framesDecoded: kind === "video" ? 5 : 0 }]]),
    };
  }
  stop(): void {
    this.dir = "stopped";
    this.sender.track = null;
  }
  get direction(): Direction {
    return this.dir;
  }
  set direction(d: Direction) {
    if (d === this.dir) return;
    this.dir = d;
    this.pc.updateNegotiationNeeded();
  }
}

class FakePC {
  signalingState: RTCSignalingState = "stable";
  localDescription: { type: string; sdp: string } | null = null;
  currentLocalDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  iceConnectionState = "new";
  iceGatheringState = "complete";
  onicegatheringstatechange: (() => void) | null = null;
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: ((ev: unknown) => void) | null = null;
  ontrack: ((ev: unknown) => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;
  readonly transceivers: FakeTransceiver[] = [];
  readonly candidates: unknown[] = [];
  private needed = false;
  private neededBeforeOffer = false;
  private midsOfPendingOffer: FakeTransceiver[] = [];
  private nextMid = 0;
  private n = 0;
  iceRestarts = 0;
  closed = false;
  readonly configurations: RTCConfiguration[] = [];

  setConfiguration(c: RTCConfiguration): void {
    this.configurations.push(c);
  }

  addTransceiver(trackOrKind: FakeTrack | string, init: { direction: Direction; sendEncodings?: RTCRtpEncodingParameters[] }): FakeTransceiver {
    const track = typeof trackOrKind === "string" ? null : trackOrKind;
    const kind = typeof trackOrKind === "string" ? trackOrKind : trackOrKind.kind;
    const t = new FakeTransceiver(this, kind, init.direction, track);
    t.sendEncodings = init.sendEncodings;
    this.transceivers.push(t);
    this.updateNegotiationNeeded();
    return t;
  }

  getTransceivers(): FakeTransceiver[] {
    return this.transceivers;
  }

  restartIce(): void {
    this.iceRestarts++;
    this.updateNegotiationNeeded();
  }

  /** As in the spec: set the flag, and fire the event (in a task) only while stable. */
  updateNegotiationNeeded(): void {
    this.needed = true;
    this.maybeFire();
  }

  private maybeFire(): void {
    if (!this.needed || this.signalingState !== "stable") return;
    setTimeout(() => {
      if (this.needed && this.signalingState === "stable" && !this.closed) this.onnegotiationneeded?.();
    }, 0);
  }

  async setLocalDescription(): Promise<void> {
    await Promise.resolve();
    if (this.signalingState === "stable") {
      this.midsOfPendingOffer = [];
      for (const t of this.transceivers) {
        if (t.mid === null) {
          t.mid = `c${this.nextMid++}`;
          this.midsOfPendingOffer.push(t);
        }
      }
      const sections = this.transceivers.map((t) => ({ mid: t.mid, kind: t.kind, direction: t.direction }));
      this.localDescription = { type: "offer", sdp: JSON.stringify({ n: this.n++, sections }) };
      this.neededBeforeOffer = this.needed;
      this.needed = false;
      this.signalingState = "have-local-offer";
    } else if (this.signalingState === "have-remote-offer") {
      this.localDescription = { type: "answer", sdp: JSON.stringify({ n: this.n++ }) };
      this.currentLocalDescription = this.localDescription;
      this.signalingState = "stable";
      this.maybeFire();
    } else {
      throw new Error(`setLocalDescription in ${this.signalingState}`);
    }
  }

  async setRemoteDescription(d: { type: string; sdp: string }): Promise<void> {
    await Promise.resolve();
    if (d.type === "offer") {
      if (this.signalingState === "have-local-offer") {
        // Implicit rollback: the mids our offer assigned are gone, and what
        // it would have negotiated is needed again.
        for (const t of this.midsOfPendingOffer) t.mid = null;
        this.midsOfPendingOffer = [];
        this.needed = this.needed || this.neededBeforeOffer;
        this.signalingState = "stable";
      }
      const sections = JSON.parse(d.sdp) as { mid: string; kind: string }[];
      for (const s of sections) {
        if (this.transceivers.some((t) => t.mid === s.mid)) continue;
        const t = new FakeTransceiver(this, s.kind, "recvonly", null);
        t.mid = s.mid;
        this.transceivers.push(t);
        this.ontrack?.({ transceiver: t, track: t.receiver.track });
      }
      this.remoteDescription = d;
      this.signalingState = "have-remote-offer";
    } else {
      if (this.signalingState !== "have-local-offer") throw new Error("InvalidStateError");
      this.remoteDescription = d;
      this.currentLocalDescription = this.localDescription;
      this.midsOfPendingOffer = [];
      this.signalingState = "stable";
      this.maybeFire();
    }
  }

  async addIceCandidate(c: unknown): Promise<void> {
    if (this.remoteDescription === null) throw new Error("InvalidStateError: no remote description");
    this.candidates.push(c);
  }

  /** As in browsers: closing stops every transceiver. */
  close(): void {
    this.closed = true;
    this.signalingState = "closed";
    for (const t of this.transceivers) t.stop();
  }
}

/** Lets queued tasks and promise chains run. */
async function settle(call: Call): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 1));
    await call.settled();
  }
}

function setup(connectTimeoutMs = 0, extra: Partial<CallOptions> = {}) {
  const pcs: FakePC[] = [];
  const sent: ClientMessage[] = [];
  let remoteChanges = 0;
  let iceFailures = 0;
  const call = new Call({
    iceServers: [],
    send: (m) => sent.push(m),
    remoteTracksChanged: () => remoteChanges++,
    iceFailed: () => iceFailures++,
    peerConnection: () => {
      const pc = new FakePC();
      pcs.push(pc);
      return pc as unknown as RTCPeerConnection;
    },
    stream: () => ({}) as MediaStream,
    connectTimeoutMs,
    ...extra,
  });
  return { pc: pcs[0]!, pcs, sent, call, remote: () => remoteChanges, iceFailures: () => iceFailures };
}

const track = (kind: string) => new FakeTrack(kind) as unknown as MediaStreamTrack;

function serverOffer(sections: { mid: string; kind: string }[], tracks: Track[]): ServerOffer {
  return { type: "offer", sdp: JSON.stringify(sections), tracks };
}

function offers(sent: ClientMessage[]) {
  return sent.filter((m): m is Extract<ClientMessage, { type: "offer" }> => m.type === "offer");
}

test("publishing microphone and camera makes one offer listing both by mid", async () => {
  const { pc, sent, call } = setup();
  void call.setTrack("microphone", track("audio"));
  void call.setTrack("camera", null); // camera off: published, sending nothing
  await settle(call);
  const o = offers(sent);
  assert.equal(o.length, 1);
  assert.deepEqual(o[0]!.tracks, [
    { mid: "c0", source: "microphone" },
    { mid: "c1", source: "camera" },
  ]);
  assert.deepEqual(
    pc.transceivers.map((t) => t.direction),
    ["sendonly", "sendonly"],
  );
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  assert.equal(pc.signalingState, "stable");
  assert.equal(offers(sent).length, 1, "no further offer once negotiated");
});

test("muting replaces the track without renegotiating", async () => {
  const { pc, sent, call } = setup();
  const mic = track("audio");
  void call.setTrack("microphone", mic);
  await settle(call);
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  await call.setTrack("microphone", null);
  await settle(call);
  assert.equal(pc.transceivers[0]!.sender.track, null);
  await call.setTrack("microphone", mic);
  await settle(call);
  assert.equal(pc.transceivers[0]!.sender.track, mic as unknown as FakeTrack);
  assert.equal(offers(sent).length, 1);
});

test("a server offer is answered and its tracks are bound by mid", async () => {
  const { sent, call, remote } = setup();
  call.handleRenegotiate();
  await settle(call);
  call.handleOffer(
    serverOffer(
      [
        { mid: "s0", kind: "audio" },
        { mid: "s1", kind: "video" },
      ],
      [
        { mid: "s0", participant: "bob", source: "microphone", kind: "audio" },
        { mid: "s1", participant: "bob", source: "camera", kind: "video" },
      ],
    ),
  );
  await settle(call);
  assert.deepEqual(
    sent.map((m) => m.type),
    ["ready", "answer"],
  );
  const got = call.remoteTracks().map((t) => [t.mid, t.participant, t.source, t.kind]);
  assert.deepEqual(got, [
    ["s0", "bob", "microphone", "audio"],
    ["s1", "bob", "camera", "video"],
  ]);
  assert.ok(remote() >= 1);
  const stats = await call.stats();
  assert.deepEqual(
    stats.map((s) => [s.participant, s.source, s.packetsReceived, s.framesDecoded]),
    [
      ["bob", "microphone", 10, 0],
      ["bob", "camera", 10, 5],
    ],
  );
});

test("tracks whose mid leaves the mapping are removed", async () => {
  const { call } = setup();
  const sections = [
    { mid: "s0", kind: "audio" },
    { mid: "s1", kind: "video" },
  ];
  call.handleRenegotiate();
  call.handleOffer(
    serverOffer(sections, [
      { mid: "s0", participant: "bob", source: "microphone", kind: "audio" },
      { mid: "s1", participant: "bob", source: "camera", kind: "video" },
    ]),
  );
  await settle(call);
  call.handleRenegotiate();
  call.handleOffer(serverOffer(sections, [{ mid: "s0", participant: "bob", source: "microphone", kind: "audio" }]));
  await settle(call);
  assert.deepEqual(
    call.remoteTracks().map((t) => t.mid),
    ["s0"],
  );
});

test("renegotiate while our offer is outstanding: ready only once the answer is in", async () => {
  const { pc, sent, call } = setup();
  void call.setTrack("microphone", track("audio"));
  await settle(call);
  assert.equal(pc.signalingState, "have-local-offer");
  call.handleRenegotiate();
  await settle(call);
  assert.deepEqual(
    sent.map((m) => m.type),
    ["offer"],
    "no ready while our offer is outstanding",
  );
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  assert.deepEqual(
    sent.map((m) => m.type),
    ["offer", "ready"],
  );
  call.handleOffer(serverOffer([{ mid: "s0", kind: "video" }], [{ mid: "s0", participant: "bob", source: "camera", kind: "video" }]));
  await settle(call);
  assert.deepEqual(
    sent.map((m) => m.type),
    ["offer", "ready", "answer"],
  );
  assert.equal(pc.signalingState, "stable");
  assert.deepEqual(
    call.remoteTracks().map((t) => t.participant),
    ["bob"],
  );
});

test("our own changes wait while the server has the turn, then go out", async () => {
  const { pc, sent, call } = setup();
  call.handleRenegotiate();
  await settle(call);
  assert.deepEqual(
    sent.map((m) => m.type),
    ["ready"],
  );
  void call.setTrack("screen", track("video"));
  await settle(call);
  assert.equal(offers(sent).length, 0, "no offer of ours in the server's turn");
  call.handleOffer(serverOffer([{ mid: "s0", kind: "audio" }], [{ mid: "s0", participant: "bob", source: "microphone", kind: "audio" }]));
  await settle(call);
  assert.deepEqual(
    sent.map((m) => m.type),
    ["ready", "answer", "offer"],
  );
  assert.deepEqual(
    offers(sent)[0]!.tracks.map((t) => t.source),
    ["screen"],
  );
  assert.equal(pc.signalingState, "have-local-offer");
});

test("a server offer out of turn is ignored, never rolled back into", async () => {
  const { pc, sent, call } = setup();
  void call.setTrack("microphone", track("audio"));
  await settle(call);
  call.handleOffer(serverOffer([{ mid: "s0", kind: "audio" }], [{ mid: "s0", participant: "bob", source: "microphone", kind: "audio" }]));
  await settle(call);
  assert.equal(pc.signalingState, "have-local-offer", "our offer stands");
  assert.deepEqual(
    sent.map((m) => m.type),
    ["offer"],
  );
  assert.equal(call.remoteTracks().length, 0);
});

test("unpublishing the screen makes its transceiver inactive and drops it from tracks", async () => {
  const { pc, sent, call } = setup();
  void call.setTrack("microphone", track("audio"));
  void call.setTrack("screen", track("video"));
  await settle(call);
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  await call.unpublish("screen");
  await settle(call);
  const o = offers(sent);
  assert.equal(o.length, 2);
  assert.deepEqual(
    o[1]!.tracks.map((t) => t.source),
    ["microphone"],
  );
  assert.equal(pc.transceivers[1]!.direction, "inactive");
  assert.equal(pc.transceivers[1]!.sender.track, null);
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  // Sharing again reuses the transceiver.
  await call.setTrack("screen", track("video"));
  await settle(call);
  assert.equal(pc.transceivers.length, 2);
  assert.deepEqual(
    offers(sent)[2]!.tracks.map((t) => t.source),
    ["microphone", "screen"],
  );
});

test("remote candidates wait for a remote description; empty ones are ignored", async () => {
  const { pc, call } = setup();
  call.handleCandidate({ candidate: "candidate:1", sdpMid: "s0", sdpMLineIndex: 0 });
  call.handleCandidate({ candidate: "" });
  await settle(call);
  assert.equal(pc.candidates.length, 0);
  call.handleRenegotiate();
  call.handleOffer(serverOffer([{ mid: "s0", kind: "audio" }], [{ mid: "s0", participant: "bob", source: "microphone", kind: "audio" }]));
  await settle(call);
  assert.deepEqual(pc.candidates, [{ candidate: "candidate:1", sdpMid: "s0", sdpMLineIndex: 0 }]);
  call.handleCandidate({ candidate: "candidate:2", sdpMid: "s0", sdpMLineIndex: 0 });
  await settle(call);
  assert.equal(pc.candidates.length, 2);
});

test("remote candidates that come while our offer awaits its answer wait for it (an ICE restart's new generation)", async () => {
  const { pc, call } = setup();
  call.handleRenegotiate();
  call.handleOffer(serverOffer([{ mid: "s0", kind: "audio" }], [{ mid: "s0", participant: "bob", source: "microphone", kind: "audio" }]));
  await settle(call);
  call.restartIce();
  await settle(call);
  assert.equal(pc.signalingState, "have-local-offer");
  call.handleCandidate({ candidate: "candidate:new", sdpMid: "s0", sdpMLineIndex: 0 });
  await settle(call);
  assert.equal(pc.candidates.length, 0, "not added to the old generation");
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  assert.deepEqual(pc.candidates, [{ candidate: "candidate:new", sdpMid: "s0", sdpMLineIndex: 0 }]);
});

test("an answer with no offer outstanding is ignored", async () => {
  const { pc, call, sent } = setup();
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  assert.equal(pc.signalingState, "stable");
  assert.equal(sent.length, 0);
});

test("an ICE restart is a client offer", async () => {
  const { pc, sent, call } = setup();
  void call.setTrack("microphone", track("audio"));
  await settle(call);
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  call.restartIce();
  await settle(call);
  assert.equal(pc.iceRestarts, 1);
  assert.equal(offers(sent).length, 2);
});

test("ICE failure is reported to the owner", () => {
  const { pc, iceFailures } = setup();
  pc.iceConnectionState = "failed";
  pc.oniceconnectionstatechange?.();
  assert.equal(iceFailures(), 1);
});

test("a closed call sends nothing more", async () => {
  const { sent, call } = setup();
  call.close();
  void call.setTrack("microphone", track("audio"));
  call.handleOffer(serverOffer([{ mid: "s0", kind: "audio" }], []));
  await settle(call);
  assert.equal(sent.length, 0);
});

test("nothing negotiated, nothing to wait for: no ICE failure before a negotiation", async () => {
  const { call, iceFailures } = setup(20);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(iceFailures(), 0);
  call.close();
});

test("ICE that never connects is reported as failed after the timeout, until it connects", async () => {
  const { pc, call, iceFailures } = setup(20);
  void call.setTrack("microphone", track("audio"));
  await settle(call);
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(iceFailures() >= 1, "stuck in new counts as failed");
  pc.iceConnectionState = "connected";
  pc.oniceconnectionstatechange?.();
  const before = iceFailures();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(iceFailures(), before, "quiet while connected");
  pc.iceConnectionState = "disconnected";
  pc.oniceconnectionstatechange?.();
  await new Promise((r) => setTimeout(r, 40));
  assert.ok(iceFailures() > before, "a lasting disconnection counts as failed");
  call.close();
});

test("relays held back: the short direct timeout counts as a failure, addRelays puts them in once, then the usual timeout holds", async (t) => {
  const all = [{ urls: "stun:203.0.113.5:3478" }, { urls: "turn:203.0.113.5:3478", username: "u", credential: "c" }];
  let added: boolean[] = [];
  let call: Call | undefined;
  const h = setup(10_000, {
    iceServers: [{ urls: "stun:203.0.113.5:3478" }],
    relays: all,
    directTimeoutMs: 20,
    iceFailed: () => added.push(call!.addRelays()),
  });
  call = h.call;
  // Closed even when an assertion fails: its timer re-arms after every
  // report and would keep the test process alive.
  t.after(() => call!.close());
  assert.equal(call.holdsRelays, true);
  void call.setTrack("microphone", track("audio"));
  await settle(call);
  assert.equal(added.length, 0, "no timeout before a remote description");
  call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(call);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(added, [true], "the direct attempt's timeout passed once, and the relays went in");
  assert.deepEqual(h.pc.configurations, [{ iceServers: all, bundlePolicy: "max-bundle" }]);
  assert.equal(call.holdsRelays, false);
  assert.equal(call.addRelays(), false, "once only");
  added = [];
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(added, [], "now the usual (10 s) timeout holds");
  call.close();
});

test("relays held back, but ICE connected once: a later loss gets the usual timeout, not the direct attempt's", async (t) => {
  let failures = 0;
  const h = setup(10_000, { relays: [{ urls: "turn:203.0.113.5:3478" }], directTimeoutMs: 20, iceFailed: () => failures++ });
  t.after(() => h.call.close()); // as above: closed even when an assertion fails
  void h.call.setTrack("microphone", track("audio"));
  await settle(h.call);
  h.call.handleAnswer({ type: "answer", sdp: "{}" });
  await settle(h.call);
  h.pc.iceConnectionState = "connected";
  h.pc.oniceconnectionstatechange?.();
  assert.equal(h.call.hasConnected, true);
  h.pc.iceConnectionState = "disconnected";
  h.pc.oniceconnectionstatechange?.();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(failures, 0, "a disconnection gets the usual time to come back by itself");
  assert.equal(h.call.holdsRelays, true);
  h.call.close();
});

test("relays added on a failure report, before the direct attempt's short timeout passed: that timer goes with them, the usual one holds", async (t) => {
  let failures = 0;
  let call: Call | undefined;
  const h = setup(10_000, {
    relays: [{ urls: "turn:203.0.113.5:3478" }],
    directTimeoutMs: 40,
    iceFailed: () => {
      failures++;
      call!.addRelays();
    },
  });
  call = h.call;
  t.after(() => call!.close());
  void call.setTrack("microphone", track("audio"));
  await settle(call);
  call.handleAnswer({ type: "answer", sdp: "{}" }); // the 40 ms direct timer starts
  await settle(call);
  h.pc.iceConnectionState = "failed";
  h.pc.oniceconnectionstatechange?.();
  assert.equal(failures, 1, "reported at once, and the relays went in");
  assert.equal(call.holdsRelays, false);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(failures, 1, "no second report from the direct attempt's timer: the relay attempt gets the usual 10 s");
});

test("ICE that fails while relays are held back is reported at once", () => {
  const { pc, iceFailures } = setup(0, { relays: [{ urls: "turn:203.0.113.5:3478" }], directTimeoutMs: 0 });
  pc.iceConnectionState = "failed";
  pc.oniceconnectionstatechange?.();
  assert.equal(iceFailures(), 1);
});

test("with simulcast the camera is sent as rid q, h and f, and still protected; nothing else is", async () => {
  const protectedSenders: string[] = [];
  const { pc, sent, call } = setup(0, {
    simulcast: true,
    protect: {
      sender: (_s, source) => protectedSenders.push(source) > 0,
      receiver: () => {},
    },
  });
  void call.setTrack("microphone", track("audio"));
  void call.setTrack("camera", track("video"));
  await settle(call);
  const [mic, camera] = pc.transceivers;
  assert.equal(mic!.sendEncodings, undefined);
  assert.deepEqual(
    camera!.sendEncodings?.map((e) => [e.rid, e.scaleResolutionDownBy]),
    [
      ["q", 4],
      ["h", 2],
      ["f", 1],
    ],
  );
  assert.deepEqual(protectedSenders, ["microphone", "camera"]);
  assert.equal(offers(sent).length, 1);
});

test("without simulcast the camera has one encoding", async () => {
  const { pc, call } = setup();
  void call.setTrack("camera", track("video"));
  await settle(call);
  assert.equal(pc.transceivers[0]!.sendEncodings, undefined);
});

test("with end-to-end encryption a track goes only on a sender that was protected", async () => {
  const { pc, call } = setup(0, {
    protect: {
      sender: (_s, source) => source === "camera", // the microphone's protection "failed"
      receiver: () => {},
    },
  });
  const mic = track("audio");
  const cam = track("video");
  await call.setTrack("microphone", mic);
  await call.setTrack("camera", cam);
  await call.setTrack("microphone", mic); // and not on a later replace either
  await settle(call);
  const [micT, camT] = pc.transceivers;
  assert.equal(micT!.sender.track, null, "an unprotected sender carries nothing");
  assert.equal(camT!.sender.track, cam);
});

test("while sending is not allowed no sender carries a track; once it is, the next setTrack puts it on", async () => {
  let allowed = false;
  const { pc, sent, call } = setup(0, { maySend: () => allowed });
  const mic = track("audio");
  await call.setTrack("microphone", mic);
  await call.setTrack("camera", track("video"));
  await call.setTrack("screen", track("video"));
  await settle(call);
  assert.ok(pc.transceivers.every((t) => t.sender.track === null));
  assert.equal(offers(sent).length, 1, "still published, so receiving and a later yes need nothing more");
  allowed = true;
  await call.setTrack("microphone", mic);
  assert.equal(pc.transceivers[0]!.sender.track, mic);
});
