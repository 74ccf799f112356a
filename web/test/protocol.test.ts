import assert from "node:assert/strict";
import { test } from "node:test";
import { kindOfSource, nameProblem, parseServerMessage, type ServerMessage } from "../src/meeting/protocol.js";

const participant = {
  id: "a1b2c3d4e5",
  name: "Ada",
  role: "host",
  joinedAt: "2025-01-01T00:00:00Z",
  audio: true,
  video: false,
  screen: false,
  connection: "connected",
};

function ok(value: unknown): ServerMessage {
  const r = parseServerMessage(JSON.stringify(value));
  if (!r.ok) assert.fail(`expected a valid message, got: ${r.reason}`);
  return r.message;
}

function bad(value: unknown): string {
  const r = parseServerMessage(typeof value === "string" ? value : JSON.stringify(value));
  assert.equal(r.ok, false);
  return r.ok ? "" : r.reason;
}

test("welcome is parsed with its participants and ICE servers", () => {
  const m = ok({
    type: "welcome",
    v: 1,
    server: "kaigi/0.1.0",
    meeting: { id: "7k3m-q9xd-2hfa-b8rn" },
    self: participant,
    participants: [participant],
    resume: "x".repeat(43),
    resumed: false,
    iceServers: [{ urls: "stun:127.0.0.1:3478" }, { urls: ["turn:127.0.0.1:3478"], username: "u", credential: "c" }],
    extra: "ignored",
  });
  assert.equal(m.type, "welcome");
  if (m.type !== "welcome") return;
  assert.equal(m.self.name, "Ada");
  assert.equal(m.participants.length, 1);
  assert.equal(m.iceServers.length, 2);
  assert.deepEqual(m.iceServers[1], { urls: ["turn:127.0.0.1:3478"], username: "u", credential: "c" });
  assert.equal("extra" in m, false, "unknown fields are not carried along");
});

test("welcome says whether the server takes simulcast", () => {
  const base = { type: "welcome", v: 1, server: "s", meeting: { id: "m" }, self: participant, participants: [], resume: "r", resumed: false };
  const on = ok({ ...base, simulcast: true });
  const off = ok(base);
  assert.equal(on.type === "welcome" && on.simulcast, true);
  assert.equal(off.type === "welcome" && off.simulcast, false);
});

test("welcome's e2eeEpoch (the group goes on at it) counts only on a resume, and must be an integer", () => {
  const base = { type: "welcome", v: 1, server: "s", meeting: { id: "m" }, self: participant, participants: [], resume: "r" };
  const on = ok({ ...base, resumed: true, e2eeEpoch: 7 });
  assert.equal(on.type === "welcome" && on.e2eeEpoch, 7);
  const fresh = ok({ ...base, resumed: false, e2eeEpoch: 7 });
  assert.equal(fresh.type === "welcome" && fresh.e2eeEpoch, null);
  const none = ok({ ...base, resumed: true });
  assert.equal(none.type === "welcome" && none.e2eeEpoch, null);
  bad({ ...base, resumed: true, e2eeEpoch: "7" });
  bad({ ...base, resumed: true, e2eeEpoch: 1.5 });
});

test("welcome without iceServers gets an empty list", () => {
  const m = ok({ type: "welcome", v: 1, server: "s", meeting: { id: "m" }, self: participant, participants: [], resume: "r", resumed: true });
  assert.equal(m.type === "welcome" && m.iceServers.length, 0);
});

test("fields of the wrong type are rejected", () => {
  assert.match(bad({ type: "welcome", v: "1", meeting: { id: "m" }, self: participant, participants: [], resume: "r", resumed: false }), /v/);
  assert.match(bad({ type: "participant_joined", participant: { ...participant, audio: "yes" } }), /audio/);
  assert.match(bad({ type: "offer", sdp: "v=0", tracks: "none" }), /tracks/);
  assert.match(bad({ type: "refused", code: 1, message: "x" }), /code/);
  assert.match(bad({ type: "candidate", candidate: "x" }), /candidate/);
});

test("not JSON, not an object, or an unknown type is rejected", () => {
  assert.equal(bad("{"), "not JSON");
  assert.equal(bad("[1]"), "not an object");
  assert.match(bad({ type: "teleport" }), /unknown type/);
  assert.match(bad({ notype: true }), /type/);
});

test("server offer tracks are kept; unknown sources or mismatched kinds are dropped", () => {
  const m = ok({
    type: "offer",
    sdp: "v=0",
    tracks: [
      { mid: "0", participant: "p1", source: "microphone", kind: "audio" },
      { mid: "1", participant: "p1", source: "camera", kind: "video" },
      { mid: "2", participant: "p2", source: "whiteboard", kind: "video" },
      { mid: "3", participant: "p2", source: "camera", kind: "audio" },
      { mid: "4", participant: "p2", source: "screen-audio", kind: "audio" },
    ],
  });
  assert.ok(m.type === "offer");
  if (m.type !== "offer") return;
  assert.deepEqual(
    m.tracks.map((t) => t.mid),
    ["0", "1", "4"],
  );
});

test("a track entry missing its mid fails the offer", () => {
  bad({ type: "offer", sdp: "v=0", tracks: [{ participant: "p1", source: "camera", kind: "video" }] });
});

test("candidates keep the RTCIceCandidateInit fields", () => {
  const m = ok({ type: "candidate", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" } });
  assert.deepEqual(m.type === "candidate" && m.candidate, {
    candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
    sdpMid: "0",
    sdpMLineIndex: 0,
    usernameFragment: "abcd",
  });
  const end = ok({ type: "candidate", candidate: { candidate: "" } });
  assert.deepEqual(end.type === "candidate" && end.candidate, { candidate: "" });
});

test("the other server messages", () => {
  assert.deepEqual(ok({ type: "pong" }), { type: "pong" });
  assert.deepEqual(ok({ type: "participant_left", id: "p", reason: "left" }), { type: "participant_left", id: "p", reason: "left" });
  assert.deepEqual(ok({ type: "answer", sdp: "v=0" }), { type: "answer", sdp: "v=0" });
  assert.deepEqual(ok({ type: "closed", reason: "replaced", message: "m" }), { type: "closed", reason: "replaced", message: "m" });
  assert.deepEqual(ok({ type: "error", code: "bad_sdp", message: "m", ref: 7 }), { type: "error", code: "bad_sdp", message: "m", ref: 7 });
  assert.deepEqual(ok({ type: "error", code: "internal", message: "m" }), { type: "error", code: "internal", message: "m" });
  assert.deepEqual(ok({ type: "refused", code: "meeting_full", message: "Full." }), { type: "refused", code: "meeting_full", message: "Full.", redirect: null });
});

test("sources map to kinds as the protocol says", () => {
  assert.equal(kindOfSource("microphone"), "audio");
  assert.equal(kindOfSource("screen-audio"), "audio");
  assert.equal(kindOfSource("camera"), "video");
  assert.equal(kindOfSource("screen"), "video");
});

test("display names follow the server's rule", () => {
  assert.equal(nameProblem("Ada"), null);
  assert.equal(nameProblem("  Ada  "), null);
  assert.equal(nameProblem("😀".repeat(64)), null, "64 characters, not 64 UTF-16 units");
  assert.notEqual(nameProblem(""), null);
  assert.notEqual(nameProblem("   "), null);
  assert.notEqual(nameProblem("a".repeat(65)), null);
  assert.notEqual(nameProblem("Ada\u0007"), null);
  assert.notEqual(nameProblem("Ada\u0085x"), null);
});

test("display names refuse invisible format characters, as the server does", () => {
  for (const name of ["Ada\u200b", "A\u200cda", "Ad\u200da", "\u200eAda", "Ada\u200f", "evil\u202egnp.exe", "\u2066Ada", "\ufeffAda",
    "Ada\u00ad", "Ada\u2060", "Ada\u061c", "Ada\u{e0041}", "Ada\u2028Lovelace", "\u200d", "Ada \u200d💻", "`\u200d©", "Ada\ud800", "Ada\ufffd"]) {
    assert.notEqual(nameProblem(name), null, JSON.stringify(name));
  }
  assert.equal(nameProblem("\u3000Ada\u0085"), null, "trimmed like the server");
  for (const name of ["👩🏽‍💻 dev", "🏳️‍🌈 Ada", "Ada ❤️‍🔥", "渡辺 さくら", "مرحبا"]) {
    assert.equal(nameProblem(name), null, name);
  }
});

test("welcome carries the settings; participants say whether they signed in", () => {
  const settings = { passcode: true, waitingRoom: true, requireSignIn: false, joinBeforeHost: false, screenShare: "hosts", unmute: "everyone", chat: "everyone", rename: "everyone", locked: true };
  const m = ok({ type: "welcome", v: 1, server: "s", meeting: { id: "m" }, self: { ...participant, signedIn: true }, participants: [participant], resume: "r", resumed: false, settings });
  if (m.type !== "welcome") return assert.fail();
  assert.deepEqual(m.settings, settings);
  assert.equal(m.self.signedIn, true);
  assert.equal(m.participants[0]!.signedIn, false, "missing means a guest");
  const old = ok({ type: "welcome", v: 1, server: "s", meeting: { id: "m" }, self: participant, participants: [], resume: "r", resumed: false });
  assert.equal(old.type === "welcome" && old.settings, null);
});

test("a signed-in participant carries their account; a guest none", () => {
  const m = ok({ type: "welcome", v: 1, server: "s", meeting: { id: "m" }, self: { ...participant, signedIn: true, account: "k7q2m4x9ab3c5d7e" }, participants: [participant, { ...participant, id: "g", account: "" }], resume: "r", resumed: false });
  if (m.type !== "welcome") return assert.fail();
  assert.equal(m.self.account, "k7q2m4x9ab3c5d7e");
  assert.equal(m.participants[0]!.account, undefined, "missing means a guest");
  assert.equal(m.participants[1]!.account, undefined, "empty means a guest");
  assert.equal("account" in m.participants[0]!, false);
  const joined = ok({ type: "participant_joined", participant: { ...participant, signedIn: true, account: "u2" } });
  assert.equal(joined.type === "participant_joined" && joined.participant.account, "u2");
  assert.match(bad({ type: "participant_updated", participant: { ...participant, account: 42 } }), /account/);
});

test("draining is parsed, its seconds bounded", () => {
  assert.deepEqual(ok({ type: "draining", seconds: 15 }), { type: "draining", seconds: 15 });
  assert.deepEqual(ok({ type: "draining", seconds: 1e9 }), { type: "draining", seconds: 3600 });
  assert.match(bad({ type: "draining", seconds: "soon" }), /seconds/);
});

test("waiting, waiting_room, settings and media_stopped are parsed", () => {
  assert.deepEqual(ok({ type: "waiting", reason: "host_absent" }), { type: "waiting", reason: "host_absent" });
  const wr = ok({ type: "waiting_room", entries: [{ id: "w1", name: "Bob", signedIn: false, reason: "waiting_room", since: "2025-01-01T00:00:00Z" }] });
  assert.deepEqual(wr, { type: "waiting_room", entries: [{ id: "w1", name: "Bob", signedIn: false, reason: "waiting_room", since: "2025-01-01T00:00:00Z", bannedNetwork: false }], guessing: false });
  const flagged = ok({ type: "waiting_room", entries: [{ id: "w2", name: "Tom", signedIn: true, reason: "waiting_room", since: "", bannedNetwork: true }] });
  assert.equal(flagged?.type === "waiting_room" && flagged.entries[0]!.bannedNetwork, true);
  assert.deepEqual(ok({ type: "waiting_room", entries: [], guessing: true }), { type: "waiting_room", entries: [], guessing: true });
  const st = ok({ type: "settings", settings: { locked: true, screenShare: "everyone" } });
  assert.equal(st.type === "settings" && st.settings.locked, true);
  assert.deepEqual(ok({ type: "media_stopped", source: "microphone", by: "Ada" }), { type: "media_stopped", source: "microphone", by: "Ada" });
  assert.match(bad({ type: "waiting_room", entries: [{ id: 1, name: "x" }] }), /id/);
  assert.match(bad({ type: "settings" }), /settings/);
  assert.match(bad({ type: "media_stopped", source: "microphone" }), /by/);
});
