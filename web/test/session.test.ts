// The meeting session (src/meeting/session.ts) against a scripted server
// (session-harness.ts): what it does with welcome, the roster messages, each
// way a session ends or is resumed, a host's commands, and what a hostile
// server may send instead (too early, about nobody, malformed, huge).

import assert from "node:assert/strict";
import { test } from "node:test";
import { MEETING, participant, settle, setup, welcome } from "./session-harness.js";

const ada = participant("p-ada", { name: "Ada", role: "host", audio: true });
const bob = participant("p-bob", { name: "Bob" });
const cyd = participant("p-cyd", { name: "Cyd" });

test("welcome: in the meeting with the server's roster and settings, and a call that publishes microphone and camera", () => {
  const h = setup({ mic: true });
  h.session.start();
  assert.deepEqual(h.view.statuses, [{ s: "joining" }]);
  assert.equal(h.server.url, "wss://kaigi.test/ws");
  h.server.open();
  const hello = h.server.sent[0]!;
  assert.equal(hello.type, "hello");
  assert.equal(hello.meeting, MEETING);
  assert.equal(hello.name, "Ada");
  assert.equal(hello.device, "device-1");
  assert.equal(hello.audio, true);
  assert.equal(hello.video, false);
  assert.equal(hello.resume, undefined, "a fresh join has no token");

  const settings = { passcode: false, waitingRoom: true, requireSignIn: false, joinBeforeHost: false, screenShare: "hosts", unmute: "everyone", chat: "everyone", rename: "everyone", locked: false };
  h.server.receive(welcome(ada, [bob], { settings, iceServers: [{ urls: "turn:turn.kaigi.test" }] }));

  assert.equal(h.session.selfId, "p-ada");
  assert.deepEqual(
    h.session.roster.list().map((p) => p.id),
    ["p-ada", "p-bob"],
  );
  assert.equal(h.session.role, "host");
  assert.equal(h.session.settings?.waitingRoom, true);
  assert.equal(h.session.sending, "ask", "nobody said this meeting is encrypted");
  assert.equal(h.calls.length, 1);
  assert.deepEqual(h.call.options.iceServers, [], "the call starts without the TURN relay (relays.ts)");
  assert.deepEqual(h.call.options.relays, [{ urls: "turn:turn.kaigi.test" }], "held back for a fallback");
  assert.deepEqual(h.call.log.slice(0, 2), ["setTrack microphone on", "setTrack camera off"]);
  assert.deepEqual(h.view.statuses.at(-1), { s: "in-meeting" });
  for (const e of ["settings", "roster", "remote", "sending"]) assert.ok(h.view.events.includes(e), e);
  assert.equal(h.storage.kept?.token, "tok-1", "the tab keeps the resume token");
});

test("welcome: where the server's idea of what this participant sends is wrong, a `media` corrects it", () => {
  const h = setup();
  h.join(welcome(participant("p-ada", { audio: true, video: true })));
  assert.deepEqual(h.server.ofType("media").map(({ audio, video, screen }) => ({ audio, video, screen })), [{ audio: false, video: false, screen: false }]);

  const g = setup();
  g.join(welcome(participant("p-ada")));
  assert.equal(g.server.ofType("media").length, 0, "the server had it right");
});

test("participant_joined, participant_updated and participant_left keep the roster", () => {
  const h = setup();
  h.join(welcome(ada, [bob]));
  const before = h.view.count("roster");

  h.server.receive({ type: "participant_joined", participant: cyd });
  assert.deepEqual(
    h.session.roster.list().map((p) => p.id),
    ["p-ada", "p-bob", "p-cyd"],
  );
  h.server.receive({ type: "participant_updated", participant: { ...bob, name: "Robert", video: true } });
  assert.deepEqual(
    h.session.roster.list().map((p) => p.name),
    ["Ada", "Robert", "Cyd"],
    "updated in place",
  );
  assert.equal(h.session.roster.get("p-bob")?.video, true);
  h.server.receive({ type: "participant_left", id: "p-cyd", reason: "left" });
  assert.deepEqual(
    h.session.roster.list().map((p) => p.id),
    ["p-ada", "p-bob"],
  );
  assert.equal(h.view.count("roster"), before + 3);
  assert.deepEqual(h.view.notices, [], "someone leaving is not a notice");

  // A host is told who was removed; a participant is not.
  h.server.receive({ type: "participant_left", id: "p-bob", reason: "removed" });
  assert.deepEqual(h.view.notices, ["Robert was removed from the meeting."]);
  const p = setup();
  p.join(welcome(bob, [cyd]));
  p.server.receive({ type: "participant_left", id: "p-cyd", reason: "removed" });
  assert.deepEqual(p.view.notices, []);
  assert.equal(p.session.roster.has("p-cyd"), false);
});

test("the session's own role changes with participant_updated, and what it no longer may do stops", async () => {
  const h = setup();
  const settings = { passcode: false, waitingRoom: false, requireSignIn: false, joinBeforeHost: true, screenShare: "hosts", unmute: "everyone", chat: "everyone", rename: "everyone", locked: false };
  h.join(welcome(participant("p-ada", { role: "cohost" }), [bob], { settings }));
  await h.session.setScreen(true);
  assert.notEqual(h.media.screen, null);
  assert.ok(h.call.tracks.get("screen"));

  h.server.receive({ type: "participant_updated", participant: participant("p-ada", { role: "participant", screen: true }) });
  assert.equal(h.session.role, "participant");
  await settle();
  assert.equal(h.media.screen, null, "a participant may not share the screen here");
  assert.ok(h.call.log.includes("unpublish screen"));
  assert.deepEqual(h.view.notices, ["Only hosts can share their screen now, so your screen share stopped."]);
});

test("a final `closed` or `refused` ends the session: the view is told once, devices stop, no reconnect, the token is forgotten", async () => {
  const cases: { frame: Record<string, unknown>; code: string }[] = [
    { frame: { type: "closed", reason: "removed", message: "A host removed you from the meeting." }, code: "removed" },
    { frame: { type: "closed", reason: "ended", message: "The host ended the meeting." }, code: "ended" },
    { frame: { type: "closed", reason: "signed_out", message: "You signed out everywhere." }, code: "signed_out" },
    { frame: { type: "closed", reason: "replaced", message: "You joined from another tab." }, code: "replaced" },
    { frame: { type: "closed", reason: "flooding", message: "Too many messages." }, code: "flooding" },
    { frame: { type: "closed", reason: "account_suspended", message: "An administrator suspended your account: review." }, code: "account_suspended" },
    { frame: { type: "closed", reason: "account_deleted", message: "Your account was deleted." }, code: "account_deleted" },
    { frame: { type: "refused", code: "banned", message: "You can't join this meeting." }, code: "banned" },
  ];
  for (const c of cases) {
    const h = setup({ mic: true, camera: true });
    h.join(welcome(ada));
    await settle(); // the person agreed to send without encryption
    const mic = h.media.mic as unknown as { stopped: boolean };
    h.server.receive(c.frame);
    assert.deepEqual(h.view.fatals, [[c.code, c.frame.message]], c.code);
    assert.equal(h.view.count(`fatal ${c.code}`), 1);
    assert.equal(h.media.mic, null, `${c.code}: the microphone is off`);
    assert.equal(h.media.camera, null, `${c.code}: the camera is off`);
    assert.equal(mic.stopped, true, `${c.code}: its track stopped`);
    assert.equal(h.call.isClosed, true, `${c.code}: the call is closed`);
    assert.equal(h.server.closedWith, 1000);
    assert.equal(h.storage.kept, null, `${c.code}: the resume token is forgotten`);
    assert.deepEqual(h.session.endState, { audio: true, video: true, screen: false });
    h.server.drop();
    h.clock.advance(5 * 60_000);
    assert.equal(h.sockets.length, 1, `${c.code}: never reconnects`);
    // Controls after the end do nothing.
    await h.session.setCamera(true);
    assert.equal(h.media.camera, null);
  }
});

test("`banned` before welcome (refused at hello) is final too", () => {
  const h = setup();
  h.session.start();
  h.server.open();
  h.server.receive({ type: "refused", code: "banned", message: "You can't join this meeting." });
  assert.deepEqual(h.view.fatals, [["banned", "You can't join this meeting."]]);
  assert.equal(h.calls.length, 0);
  h.clock.advance(60_000);
  assert.equal(h.sockets.length, 1);
});

test("server_draining and shutdown: the session reconnects with backoff and its resume token, and resumes", () => {
  const h = setup();
  h.join(welcome(ada, [bob]));
  const first = h.call;

  h.server.receive({ type: "draining", seconds: 20 });
  assert.deepEqual(h.view.notices, ["The server is restarting within 20 s. You will be reconnected automatically."]);
  h.server.receive({ type: "closed", reason: "shutdown", message: "The server is restarting." });
  assert.deepEqual(h.view.fatals, [], "shutdown is not the end");
  h.server.drop();
  assert.equal(first.isClosed, true, "the peer connection goes with the socket");
  assert.deepEqual(h.view.statuses.at(-1), { s: "reconnecting", detail: { retryInMs: 1000, message: "The server is restarting." } });

  // Back too early: the draining server refuses the new socket, which counts as another loss.
  h.clock.advance(1000);
  assert.equal(h.sockets.length, 2);
  h.server.open();
  assert.equal(h.server.sent[0]!.resume, "tok-1");
  h.server.receive({ type: "refused", code: "server_draining", message: "The server is restarting; try again in a moment." });
  assert.deepEqual(h.view.fatals, []);
  h.server.drop();
  assert.deepEqual(h.view.statuses.at(-1), { s: "reconnecting", detail: { retryInMs: 2000, message: "The server is restarting; try again in a moment." } });

  h.clock.advance(1999);
  assert.equal(h.sockets.length, 2, "waits out the backoff");
  h.clock.advance(1);
  assert.equal(h.sockets.length, 3);
  h.server.open();
  assert.equal(h.server.sent[0]!.resume, "tok-1");
  h.server.receive(welcome(ada, [bob, cyd], { resumed: true, resume: "tok-2" }));
  assert.deepEqual(h.view.statuses.at(-1), { s: "in-meeting" });
  assert.equal(h.calls.length, 2, "a fresh call after the reconnect");
  assert.equal(h.call.isClosed, false);
  assert.equal(h.session.roster.size, 3, "the roster is the new welcome's");
  assert.equal(h.storage.kept?.token, "tok-2");

  // The next loss starts the backoff afresh, with the newest token.
  h.server.drop();
  assert.equal(h.view.statuses.at(-1)?.detail?.retryInMs, 1000);
  h.clock.advance(1000);
  h.server.open();
  assert.equal(h.server.sent[0]!.resume, "tok-2");
});

test("a lost connection that is never restored ends in connection_lost", () => {
  const h = setup();
  h.join(welcome(ada));
  h.server.drop();
  // Every attempt opens a socket that never answers, until the client gives up.
  h.clock.advance(200_000);
  assert.ok(h.sockets.length > 3, `${h.sockets.length} attempts`);
  assert.equal(h.view.fatals[0]?.[0], "connection_lost");
  assert.equal(h.view.fatals.length, 1);
  assert.equal(h.storage.kept, null);
});

test("a resumed participant keeps a host's mute; a new one starts afresh", async () => {
  const h = setup({ mic: true });
  h.join(welcome(ada));
  h.server.receive({ type: "media_stopped", source: "microphone", by: "Hana" });
  await settle();
  assert.equal(h.session.mutedByHost, true);
  h.server.drop();
  h.clock.advance(1000);
  h.server.open();
  // The server's record comes back with the resumed participant.
  h.server.receive(welcome({ ...ada, mutedByHost: true }, [], { resumed: true }));
  assert.equal(h.session.mutedByHost, true);
  h.server.drop();
  h.clock.advance(1000);
  h.server.open();
  h.server.receive(welcome(ada, [], { resumed: false }));
  assert.equal(h.session.mutedByHost, false);
});

test("what arrives before welcome is not acted on", async () => {
  const h = setup({ mic: true });
  h.session.start();
  h.server.open();
  h.server.receive({ type: "participant_joined", participant: cyd });
  h.server.receive({ type: "media_stopped", source: "microphone", by: "Mallory" });
  h.server.receive({ type: "settings", settings: { screenShare: "hosts", unmute: "hosts" } });
  h.server.receive({ type: "offer", sdp: "v=0", tracks: [] });
  h.server.receive({ type: "breakout", room: 1, name: "Elsewhere", seconds: 0, token: "t" });
  h.server.receive({ type: "participant_left", id: "p-ada", reason: "removed" });
  await settle();
  assert.equal(h.session.roster.size, 0);
  assert.equal(h.session.settings, null);
  assert.notEqual(h.media.mic, null, "nobody muted us yet");
  assert.deepEqual(h.view.notices, []);
  assert.deepEqual(h.view.moves, []);
  assert.equal(h.calls.length, 0);

  h.server.receive(welcome(ada, [bob]));
  assert.deepEqual(
    h.session.roster.list().map((p) => p.id),
    ["p-ada", "p-bob"],
  );
  assert.equal(h.session.mutedByHost, false);
});

test("handed to the session before welcome anyway, messages do not throw, and welcome starts afresh", async () => {
  const h = setup({ mic: true });
  h.session.start();
  const early = [
    { type: "participant_joined", participant: { ...cyd, signedIn: false, mutedByHost: false } },
    { type: "participant_left", id: "p-nobody", reason: "left" },
    { type: "offer", sdp: "v=0", tracks: [] },
    { type: "answer", sdp: "v=0" },
    { type: "candidate", candidate: { candidate: "candidate:1" } },
    { type: "renegotiate" },
    { type: "waiting_room", entries: [{ id: "w1", name: "Eve", signedIn: false, reason: "waiting_room", since: "", bannedNetwork: false }], guessing: false },
    { type: "error", code: "forbidden", message: "No.", ref: 1 },
  ] as const;
  for (const m of early) assert.doesNotThrow(() => h.events.message(m as never), m.type);
  await settle();
  assert.equal(h.calls.length, 0);
  assert.equal(h.session.waitingRoom.length, 1);
  h.server.open();
  h.server.receive(welcome(ada, [bob]));
  assert.deepEqual(
    h.session.roster.list().map((p) => p.id),
    ["p-ada", "p-bob"],
    "the welcome's roster, not what came before",
  );
  assert.deepEqual(h.session.waitingRoom, []);
});

test("messages about participants the roster does not have change nothing else", () => {
  const h = setup();
  h.join(welcome(ada, [bob]));
  const events = h.view.events.length;
  h.server.receive({ type: "participant_left", id: "p-ghost", reason: "removed" });
  h.server.receive({ type: "participant_left", id: "", reason: "left" });
  assert.equal(h.view.events.length, events, "nothing to tell the view");
  assert.deepEqual(
    h.session.roster.list().map((p) => p.id),
    ["p-ada", "p-bob"],
  );
  // Tracks of someone unknown are the call's to sort out (it shows none of them).
  h.server.receive({ type: "offer", sdp: "v=0", tracks: [{ mid: "0", participant: "p-ghost", source: "camera", kind: "video" }] });
  assert.deepEqual(h.call.log.filter((l) => l === "offer"), ["offer"]);
});

test("a host's mute is obeyed: the microphone stops, the notice names the host, unmuting follows the meeting's rule", async () => {
  const onlyHosts = { passcode: false, waitingRoom: false, requireSignIn: false, joinBeforeHost: true, screenShare: "hosts", unmute: "hosts", chat: "everyone", rename: "everyone", locked: false };
  const h = setup({ mic: true });
  h.join(welcome(participant("p-bob", { audio: true }), [ada], { settings: onlyHosts }));
  await settle(); // the person agreed to send without encryption
  const mic = h.media.mic as unknown as { stopped: boolean };
  h.server.receive({ type: "media_stopped", source: "microphone", by: "Ada" });
  await settle();
  assert.equal(h.media.mic, null);
  assert.equal(mic.stopped, true, "the recording light goes off");
  assert.equal(h.call.tracks.get("microphone"), null);
  assert.deepEqual(h.view.notices, ["Ada muted you. Only hosts can unmute you in this meeting."]);
  assert.deepEqual(h.server.ofType("media").at(-1), { type: "media", audio: false, video: false, screen: false, id: h.server.ofType("media").at(-1)!.id });
  assert.equal(h.session.mayUnmute, false);

  const sent = h.server.ofType("media").length;
  await h.session.setMic(true);
  assert.equal(h.media.mic, null, "a participant may not undo it here");
  assert.equal(h.server.ofType("media").length, sent);
  assert.equal(h.view.notices.at(-1), "A host muted you. Only hosts can unmute you in this meeting.");

  // Where everyone may unmute, the person may, and that undoes the mute.
  h.server.receive({ type: "settings", settings: { ...onlyHosts, unmute: "everyone" } });
  assert.equal(h.session.mayUnmute, true);
  await h.session.setMic(true);
  assert.notEqual(h.media.mic, null);
  assert.equal(h.session.mutedByHost, false);
  assert.equal(h.server.ofType("media").at(-1)!.audio, true);
});

test("a host stopping the camera or the screen is obeyed; an unknown source and a stop after the end are not", async () => {
  const h = setup({ camera: true });
  const everyone = { passcode: false, waitingRoom: false, requireSignIn: false, joinBeforeHost: true, screenShare: "everyone", unmute: "everyone", chat: "everyone", rename: "everyone", locked: false };
  h.join(welcome(participant("p-bob", { video: true }), [ada], { settings: everyone }));
  await settle();
  await h.session.setScreen(true);
  assert.notEqual(h.media.screen, null);

  h.server.receive({ type: "media_stopped", source: "camera", by: "" });
  await settle();
  assert.equal(h.media.camera, null);
  assert.equal(h.view.notices.at(-1), "A host stopped your video.", "no name: 'A host'");
  h.server.receive({ type: "media_stopped", source: "screen", by: "Ada" });
  await settle();
  assert.equal(h.media.screen, null);
  assert.ok(h.call.log.includes("unpublish screen"));
  assert.equal(h.view.notices.at(-1), "Ada stopped your screen share.");

  await h.session.setCamera(true);
  const notices = h.view.notices.length;
  const media = h.server.ofType("media").length;
  h.server.receive({ type: "media_stopped", source: "lasers", by: "Ada" });
  await settle();
  assert.notEqual(h.media.camera, null);
  assert.equal(h.view.notices.length, notices);
  assert.equal(h.server.ofType("media").length, media);

  h.server.receive({ type: "closed", reason: "ended", message: "The host ended the meeting." });
  h.events.message({ type: "media_stopped", source: "camera", by: "Ada" });
  await settle();
  assert.equal(h.view.notices.length, notices, "nothing to tell after the end");
});

test("the server refusing an unmute (forbidden, naming our `media`) turns the microphone off again; another's refusal does not", async () => {
  const onlyHosts = { passcode: false, waitingRoom: false, requireSignIn: false, joinBeforeHost: true, screenShare: "hosts", unmute: "hosts", chat: "everyone", rename: "everyone", locked: false };
  const h = setup();
  // A host's mute that crosses our unmute on the way: the server has it, this page not yet.
  h.join(welcome(participant("p-bob"), [ada], { settings: onlyHosts }));
  await h.session.setMic(true);
  assert.notEqual(h.media.mic, null);
  const ref = h.server.ofType("media").at(-1)!.id as number;

  h.server.receive({ type: "error", code: "forbidden", message: "Only hosts can unmute you.", ref: ref + 1000 });
  await settle();
  assert.notEqual(h.media.mic, null, "not about our microphone");
  h.server.receive({ type: "error", code: "forbidden", message: "Only hosts can unmute you.", ref });
  await settle();
  assert.equal(h.media.mic, null);
  assert.equal(h.session.mutedByHost, true);
  assert.equal(h.view.notices.at(-1), "Only hosts can unmute you.");
});

test("the server slowing this connection down (rate_limited) is told, with its own sentence", () => {
  const h = setup();
  h.join(welcome(participant("p-ada")));
  h.server.receive({ type: "error", code: "rate_limited", message: "You are sending too fast; the server is slowing this connection down." });
  assert.deepEqual(h.view.notices, ["You are sending too fast; the server is slowing this connection down."]);
  assert.deepEqual(h.view.fatals, [], "a warning, not the end");
});

test("moderation from the server: waiting room, passcode guessing and breakout moves reach the view", () => {
  const h = setup();
  h.join(welcome(ada, [bob]));
  h.server.receive({ type: "waiting_room", entries: [{ id: "w1", name: "Eve" }], guessing: true });
  h.server.receive({ type: "waiting_room", entries: [{ id: "w1", name: "Eve" }, { id: "w2", name: "Fay" }], guessing: true });
  assert.deepEqual(
    h.session.waitingRoom.map((e) => e.id),
    ["w1", "w2"],
  );
  assert.deepEqual(
    h.view.events.filter((e) => e.startsWith("waitingRoom")).slice(-2),
    ["waitingRoom 1", "waitingRoom 1"],
    "only the newcomers are new",
  );
  assert.equal(h.view.notices.filter((n) => n.startsWith("Someone is trying wrong passcodes")).length, 1, "told once while it lasts");
  h.server.receive({ type: "breakout", room: 2, name: "Room 2", seconds: 10, token: "move-1" });
  assert.deepEqual(h.view.moves, [{ room: 2, name: "Room 2", seconds: 10, token: "move-1" }]);
});

test("malformed frames are dropped before the session; hostile but well-formed ones leave its state sound", async () => {
  const h = setup({ mic: true });
  h.session.start();
  h.server.open();
  // A welcome the parser refuses is no welcome.
  h.server.receive({ ...welcome(ada), self: { id: 7 } });
  h.server.receive({ ...welcome(ada), participants: "everyone" });
  h.server.receive({ ...welcome(ada), resume: null });
  assert.equal(h.calls.length, 0);
  assert.equal(h.session.selfId, null);
  h.server.receive(welcome(ada, [bob]));
  assert.equal(h.session.selfId, "p-ada");

  const junk: unknown[] = [
    "not json",
    "[1,2,3]",
    "null",
    JSON.stringify({ type: 5 }),
    JSON.stringify({ type: "participant_joined", participant: "p-cyd" }),
    JSON.stringify({ type: "participant_joined", participant: { ...cyd, id: 42 } }),
    JSON.stringify({ type: "participant_joined", participant: { id: "p-cyd", name: "Cyd" } }),
    JSON.stringify({ type: "participant_updated", participant: { ...bob, role: null } }),
    JSON.stringify({ type: "participant_left", id: 1 }),
    JSON.stringify({ type: "participant_left" }),
    JSON.stringify({ type: "media_stopped", source: 42, by: "Ada" }),
    JSON.stringify({ type: "settings", settings: "hosts only" }),
    JSON.stringify({ type: "waiting_room", entries: [{ id: 1 }] }),
    JSON.stringify({ type: "breakout", room: 1e9, name: "x", seconds: 0, token: "t" }),
    JSON.stringify({ type: "e2ee_job", epoch: "one" }),
    JSON.stringify({ type: "offer", sdp: 1, tracks: [] }),
    JSON.stringify({ type: "error", code: 500 }),
    new Uint8Array([1, 2, 3]),
  ];
  for (const j of junk) assert.doesNotThrow(() => h.server.raw(j), String(j));
  await settle();
  assert.deepEqual(
    h.session.roster.list().map((p) => [p.id, p.role]),
    [
      ["p-ada", "host"],
      ["p-bob", "participant"],
    ],
  );
  assert.notEqual(h.media.mic, null);
  assert.equal(h.session.settings, null);
  assert.deepEqual(h.session.waitingRoom, []);
  assert.deepEqual(h.view.moves, []);
  assert.deepEqual(h.call.log.filter((l) => l === "offer"), []);
  assert.deepEqual(h.view.fatals, []);

  // Well-formed but hostile: huge strings, odd IDs, an absurd countdown.
  const huge = "x".repeat(1 << 20);
  h.server.receive({ type: "participant_joined", participant: { ...cyd, name: huge } });
  h.server.receive({ type: "participant_joined", participant: participant("__proto__") });
  h.server.receive({ type: "participant_joined", participant: participant("constructor", { role: "superuser" }) });
  h.server.receive({ type: "draining", seconds: 1e12 });
  h.server.receive({ type: "media_stopped", source: "microphone", by: huge });
  await settle();
  assert.equal(h.session.roster.get("p-cyd")?.name.length, 1 << 20);
  assert.deepEqual(
    h.session.roster.list().map((p) => p.id),
    ["p-ada", "p-bob", "p-cyd", "__proto__", "constructor"],
  );
  assert.equal(h.session.roster.get("constructor")?.role, "superuser");
  assert.equal(h.session.role, "host", "others' roles are not ours");
  assert.ok(h.view.notices.includes("The server is restarting within 3600 s. You will be reconnected automatically."));
  assert.equal(h.media.mic, null, "the mute itself is obeyed, whoever it names");

  // Still working.
  h.server.receive({ type: "participant_left", id: "__proto__", reason: "left" });
  assert.equal(h.session.roster.has("__proto__"), false);
  assert.equal(h.session.roster.size, 4);
});

test("where encryption is expected and the server says there is none, nothing is sent and devices stop", () => {
  const h = setup({ mic: true, camera: true, known: { link: true, announced: false } });
  h.join(welcome(ada, [bob], { e2ee: false }));
  assert.equal(h.session.sending, "refuse");
  assert.equal(h.media.mic, null);
  assert.equal(h.media.camera, null);
  assert.equal(h.call.options.maySend?.(), false, "the call carries no track");
  assert.ok(h.view.events.includes("sending"));
  assert.deepEqual(h.server.ofType("media").at(-1), { type: "media", audio: false, video: false, screen: false, id: h.server.ofType("media").at(-1)!.id });
});

test("end-to-end encryption messages go to the encrypted group, and only there", async () => {
  const handled: string[] = [];
  const welcomed: unknown[] = [];
  const fake = {
    attach: () => {},
    helloFields: () => ({ keyPackage: "a2V5" }),
    welcomed: (self: { id: string }, e2ee: boolean, resumed: boolean, restart: boolean) => welcomed.push([self.id, e2ee, resumed, restart]),
    handle: (m: { type: string }) => handled.push(m.type),
    roleChanged: () => handled.push("roleChanged"),
    protectSender: () => true,
    protectReceiver: () => {},
    close: () => handled.push("close"),
    inGroup: false,
  };
  const h = setup({ secure: fake as never });
  h.session.start();
  h.server.open();
  assert.equal(h.server.sent[0]!.keyPackage, "a2V5");
  h.server.receive({ type: "e2ee_job", create: true, epoch: 0 });
  assert.deepEqual(handled, [], "nothing before welcome");
  h.server.receive(welcome(ada, [bob], { e2ee: true, resumed: true, e2eeRestart: true }));
  assert.deepEqual(welcomed, [["p-ada", true, true, true]]);
  assert.equal(h.session.sending, "encrypted");
  assert.ok(h.call.options.protect, "the call protects its senders and receivers");

  h.server.receive({ type: "e2ee_job", create: true, epoch: 0 });
  h.server.receive({ type: "e2ee_commit", epoch: 1, from: "p-bob", commit: "AAAA" });
  h.server.receive({ type: "e2ee_commit_ok", epoch: 2 });
  h.server.receive({ type: "e2ee_welcome", epoch: 2, welcome: "AAAA" });
  h.server.receive({ type: "e2ee_message", from: "p-bob", epoch: 2, kind: "chat", data: "AAAA" });
  h.server.receive({ type: "e2ee_message", from: "p-bob", epoch: 2, kind: "chat", data: "not base64!" });
  assert.deepEqual(handled, ["e2ee_job", "e2ee_commit", "e2ee_commit_ok", "e2ee_welcome", "e2ee_message"]);

  // A role change asks the group for fresh keys.
  h.server.receive({ type: "participant_updated", participant: { ...bob, role: "cohost" } });
  assert.equal(handled.at(-1), "roleChanged");

  // Chat needs the group: until then the person is told, and nothing is sent.
  await h.session.sendChat("hello", null);
  assert.equal(h.view.notices.at(-1), "Still setting up encryption. Try again in a moment.");
  h.session.leave();
  assert.equal(handled.at(-1), "close");
  assert.deepEqual(h.server.ofType("leave"), [{ type: "leave" }]);
});

test("leave says `leave`, stops everything and never comes back; pageHidden keeps the place for a reload", async () => {
  const h = setup({ mic: true });
  h.join(welcome(ada));
  h.session.leave();
  assert.deepEqual(h.server.ofType("leave"), [{ type: "leave" }]);
  assert.equal(h.media.mic, null);
  assert.equal(h.call.isClosed, true);
  assert.equal(h.storage.kept, null);
  h.server.drop();
  h.clock.advance(60_000);
  assert.equal(h.sockets.length, 1);

  const r = setup({ mic: true });
  r.join(welcome(ada));
  await settle();
  r.session.pageHidden();
  assert.deepEqual(r.server.ofType("leave"), [], "no leave: the server keeps the place");
  assert.equal(r.storage.kept?.token, "tok-1");
  assert.equal(r.storage.kept?.audio, true);
});

test("a reloaded page comes back with the token its tab kept", () => {
  const h = setup({ kept: { token: "tok-0", at: 1_000_000, audio: true, video: false } });
  h.session.start();
  h.server.open();
  assert.equal(h.server.sent[0]!.resume, "tok-0");
  h.server.receive(welcome(ada, [], { resumed: true, resume: "tok-1" }));
  assert.equal(h.storage.kept?.token, "tok-1");
});

test("a reloaded page learns a host's mute from welcome: the microphone stays off and unmuting is not offered", async () => {
  const onlyHosts = { passcode: false, waitingRoom: false, requireSignIn: false, joinBeforeHost: true, screenShare: "hosts", unmute: "hosts", chat: "everyone", rename: "everyone", locked: false };
  const kept = { token: "tok-0", at: 1_000_000 - 5000, audio: true, video: false };
  // The tab had its microphone on when it reloaded; a host muted it meanwhile.
  const h = setup({ mic: true, kept });
  const mic = h.media.mic as unknown as { stopped: boolean };
  h.join(welcome(participant("p-bob", { mutedByHost: true }), [ada], { settings: onlyHosts, resumed: true }));
  assert.equal(h.server.sent[0]!.resume, "tok-0", "resumed as the same participant");
  await settle();
  assert.equal(h.session.mutedByHost, true);
  assert.equal(h.session.mayUnmute, false, "the controls show 'muted by host'");
  assert.equal(h.media.mic, null, "the microphone stays off");
  assert.equal(mic.stopped, true, "its light goes off");
  assert.equal(h.call.tracks.get("microphone"), null, "nothing on the sender");
  assert.ok(!h.call.log.includes("setTrack microphone on"));
  assert.ok(h.view.notices.includes("A host muted you. Only hosts can unmute you in this meeting."));
  assert.ok(h.server.ofType("media").every((m) => m.audio === false), "no unmute for the server to refuse");

  const sent = h.server.ofType("media").length;
  await h.session.setMic(true);
  assert.equal(h.media.mic, null, "not undone here");
  assert.equal(h.server.ofType("media").length, sent);

  // Where everyone may unmute, a host's mute is no bar: the microphone that was on stays on.
  const g = setup({ mic: true, kept });
  g.join(welcome(participant("p-bob", { mutedByHost: true }), [ada], { settings: { ...onlyHosts, unmute: "everyone" }, resumed: true }));
  await settle();
  assert.equal(g.session.mayUnmute, true);
  assert.notEqual(g.media.mic, null);
});

test("a host's mute while the answer to 'send without encryption?' resolves leaves nothing on the microphone's sender", async () => {
  const h = setup({ mic: true, camera: true });
  h.join(welcome(participant("p-bob", { audio: true, video: true }), [ada]));
  assert.equal(h.session.sending, "ask");
  // The person agrees (resolving now) while the host's mute and stop are being carried out.
  h.server.receive({ type: "media_stopped", source: "microphone", by: "Ada" });
  h.server.receive({ type: "media_stopped", source: "camera", by: "Ada" });
  await settle();
  assert.equal(h.session.sending, "clear", "the person agreed");
  assert.ok(h.call.log.includes("setTrack microphone on"), "the answer published what was on");
  assert.equal(h.media.mic, null);
  assert.equal(h.media.camera, null);
  assert.equal(h.call.tracks.get("microphone"), null, "the stopped microphone is not left on the sender");
  assert.equal(h.call.tracks.get("camera"), null, "nor the stopped camera");
});

test("a breakout room that closes with us still in it: back to the main room with the return's token, without a reconnect", async () => {
  const h = setup({ mic: true, camera: true });
  h.join(welcome(participant("p-bob", { audio: true, video: true }), [ada], { breakout: { room: 1, name: "Room 1" } }));
  await settle();
  h.server.receive({ type: "breakout_return", seconds: 20, token: "back-1" });
  assert.deepEqual(h.view.moves, [{ room: 0, name: "", seconds: 20, token: "back-1" }]);
  // The move did not happen (yet): the room closes.
  h.server.receive({ type: "closed", reason: "breakout_ended", message: "The breakout rooms have closed. Rejoin the meeting." });
  assert.deepEqual(h.view.moves.at(-1), { room: 0, name: "", seconds: 0, token: "back-1" }, "the same move, now");
  assert.deepEqual(h.view.fatals, []);
  assert.notEqual(h.media.mic, null, "devices stay on for the main room");
  assert.notEqual(h.media.camera, null);
  h.server.drop();
  h.clock.advance(5 * 60_000);
  assert.equal(h.sockets.length, 1, "no reconnect to the closed room");

  // Reconnecting to the room when it closed (refused breakout_closed): the same.
  const r = setup({ mic: true, move: { token: "in-1", room: 1 } });
  r.join(welcome(participant("p-bob", { audio: true }), [ada], { breakout: { room: 1, name: "Room 1" } }));
  r.server.receive({ type: "breakout_return", seconds: 30, token: "back-2" });
  r.server.drop();
  r.clock.advance(1000);
  r.server.open();
  assert.equal(r.server.sent[0]!.breakout, 1, "back to the room");
  assert.equal(r.server.sent[0]!.resume, "tok-1");
  r.server.receive({ type: "refused", code: "breakout_closed", message: "That breakout room has closed. Rejoin the meeting." });
  assert.deepEqual(r.view.moves.at(-1), { room: 0, name: "", seconds: 0, token: "back-2" });
  assert.deepEqual(r.view.fatals, []);
  r.clock.advance(5 * 60_000);
  assert.equal(r.sockets.length, 2);
});

test("a breakout room that closes under someone with no way back ends the session at once, with the server's words", async () => {
  const h = setup({ mic: true });
  // Back from a lost connection, say, after the close sent the others home.
  h.join(welcome(participant("p-bob", { audio: true }), [ada], { breakout: { room: 1, name: "Room 1" } }));
  await settle();
  h.server.receive({ type: "breakout", room: 2, name: "Room 2", seconds: 10, token: "to-2" });
  h.server.receive({ type: "closed", reason: "breakout_ended", message: "The breakout rooms have closed. Rejoin the meeting." });
  assert.deepEqual(h.view.fatals, [["breakout_ended", "The breakout rooms have closed. Rejoin the meeting."]]);
  assert.equal(h.view.moves.length, 1, "a move to another room is no way back");
  assert.equal(h.media.mic, null);
  assert.equal(h.call.isClosed, true);
  assert.equal(h.storage.kept, null, "the room's resume token is forgotten");
  h.server.drop();
  h.clock.advance(5 * 60_000);
  assert.equal(h.sockets.length, 1, "no reconnect, to be refused with breakout_closed");
});
