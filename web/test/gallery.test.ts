import assert from "node:assert/strict";
import { test } from "node:test";
import type { Participant } from "../src/meeting/protocol.js";
import type { ParticipantMedia } from "../src/meeting/tracks.js";
import { tilesOf, type GalleryInput } from "../src/ui/gallery.js";

const track = {} as MediaStreamTrack;

function person(id: string, over: Partial<Participant> = {}): Participant {
  return { id, name: id.toUpperCase(), role: "participant", signedIn: false, joinedAt: "", audio: true, video: true, screen: false, connection: "connected", mutedByHost: false, ...over };
}

function input(streamFrom: GalleryInput["streamFrom"], people: Participant[] = [person("bob"), person("cy")]): GalleryInput {
  const received = new Map<string, ParticipantMedia<MediaStreamTrack>>();
  for (const [i, p] of people.entries()) {
    received.set(p.id, {
      camera: { mid: `v${i}`, participant: p.id, source: "camera", kind: "video", track },
      microphone: { mid: `a${i}`, participant: p.id, source: "microphone", kind: "audio", track },
    });
  }
  const g: GalleryInput = { selfId: "ada", selfName: "Ada", local: { audio: true, video: true, screen: false }, camera: null, screen: null, people, received };
  if (streamFrom) g.streamFrom = streamFrom;
  return g;
}

const wrong = (g: GalleryInput): Record<string, boolean> =>
  Object.fromEntries(tilesOf(g).people.filter(([k]) => k !== "self").map(([, s]) => [s.participant, s.wrongKey === true]));

test("a person's tile is flagged when their camera or voice decrypts under someone else's key", () => {
  // Bob's camera decrypts under Cy's key (and the other way round).
  const swappedVideo = (mid: string, p: string) => (mid === "v0" ? p === "cy" : mid === "v1" ? p === "bob" : true);
  assert.deepEqual(wrong(input(swappedVideo)), { bob: true, cy: true });
  // Only Cy's voice is someone else's.
  const swappedAudio = (mid: string) => mid !== "a1";
  assert.deepEqual(wrong(input(swappedAudio)), { bob: false, cy: true });
  // Not known yet (no frame decrypted), or no E2EE: nothing flagged.
  assert.deepEqual(wrong(input(() => null)), { bob: false, cy: false });
  assert.deepEqual(wrong(input(undefined)), { bob: false, cy: false });
  // A camera that is off is not judged by a stale stream.
  assert.deepEqual(wrong(input(swappedVideo, [person("bob", { video: false }), person("cy")])), { bob: false, cy: true });
});

test("tiles: self first, then everyone else; screens apart", () => {
  const g = input(undefined, [person("bob", { screen: true }), person("ada")]);
  const { people, screens } = tilesOf(g);
  assert.deepEqual(people.map(([k]) => k), ["self", "p:bob"]);
  assert.deepEqual(screens.map(([k]) => k), ["s:bob"]);
});
