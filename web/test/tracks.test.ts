import assert from "node:assert/strict";
import { test } from "node:test";
import type { Track } from "../src/meeting/protocol.js";
import { mediaByParticipant, reconcile, type Binding, type Receiver } from "../src/meeting/tracks.js";

type T = { id: string };
const tA = { id: "trackA" };
const tB = { id: "trackB" };
const tC = { id: "trackC" };

function receivers(entries: [string, string, T][]): Map<string, Receiver<T>> {
  return new Map(entries.map(([mid, kind, track]) => [mid, { kind, track }]));
}

const mic = (mid: string, participant: string): Track => ({ mid, participant, source: "microphone", kind: "audio" });
const cam = (mid: string, participant: string): Track => ({ mid, participant, source: "camera", kind: "video" });

test("mapped mids with receivers are bound", () => {
  const r = reconcile(new Map(), [mic("0", "p1"), cam("1", "p1")], receivers([["0", "audio", tA], ["1", "video", tB]]));
  assert.equal(r.added.length, 2);
  assert.equal(r.removed.length, 0);
  assert.deepEqual(r.bindings.get("1"), { mid: "1", participant: "p1", source: "camera", kind: "video", track: tB });
});

test("a mid without a receiver yet waits, and binds once the receiver exists", () => {
  const mapping = [mic("0", "p1"), cam("1", "p1")];
  const first = reconcile(new Map(), mapping, receivers([["0", "audio", tA]]));
  assert.deepEqual([...first.bindings.keys()], ["0"]);
  const second = reconcile(first.bindings, mapping, receivers([["0", "audio", tA], ["1", "video", tB]]));
  assert.deepEqual(second.added.map((b) => b.mid), ["1"]);
  assert.equal(second.removed.length, 0);
  assert.equal(second.bindings.get("0"), first.bindings.get("0"), "unchanged bindings are kept as they are");
});

test("nothing changes when the mapping and receivers are the same", () => {
  const mapping = [mic("0", "p1")];
  const recv = receivers([["0", "audio", tA]]);
  const first = reconcile(new Map(), mapping, recv);
  const second = reconcile(first.bindings, mapping, recv);
  assert.equal(second.added.length + second.removed.length, 0);
});

test("a mid missing from a later offer is removed", () => {
  const recv = receivers([["0", "audio", tA], ["1", "video", tB]]);
  const first = reconcile(new Map(), [mic("0", "p1"), cam("1", "p1")], recv);
  const second = reconcile(first.bindings, [mic("0", "p1")], recv);
  assert.deepEqual(second.removed.map((b) => b.mid), ["1"]);
  assert.deepEqual([...second.bindings.keys()], ["0"]);
});

test("a reused mid moves to its new participant", () => {
  const recv = receivers([["1", "video", tB]]);
  const first = reconcile(new Map(), [cam("1", "p1")], recv);
  const second = reconcile(first.bindings, [cam("1", "p2")], recv);
  assert.deepEqual(second.removed.map((b) => b.participant), ["p1"]);
  assert.deepEqual(second.added.map((b) => b.participant), ["p2"]);
});

test("a new receiver track for the same mid rebinds", () => {
  const first = reconcile(new Map(), [cam("1", "p1")], receivers([["1", "video", tB]]));
  const second = reconcile(first.bindings, [cam("1", "p1")], receivers([["1", "video", tC]]));
  assert.equal(second.added[0]!.track, tC);
  assert.equal(second.removed[0]!.track, tB);
});

test("a receiver of the wrong kind is not bound", () => {
  const r = reconcile(new Map(), [cam("0", "p1")], receivers([["0", "audio", tA]]));
  assert.equal(r.bindings.size, 0);
});

test("mediaByParticipant groups by participant and source", () => {
  const r = reconcile(
    new Map(),
    [mic("0", "p1"), cam("1", "p1"), { mid: "2", participant: "p2", source: "screen", kind: "video" }],
    receivers([["0", "audio", tA], ["1", "video", tB], ["2", "video", tC]]),
  );
  const m = mediaByParticipant<T>(r.bindings.values());
  assert.equal(m.get("p1")?.microphone?.track, tA);
  assert.equal(m.get("p1")?.camera?.track, tB);
  assert.equal(m.get("p2")?.screen?.track, tC);
  assert.equal(m.get("p2")?.camera, undefined);
  const none: Binding<T>[] = [];
  assert.equal(mediaByParticipant(none).size, 0);
});
