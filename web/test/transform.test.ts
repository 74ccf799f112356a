import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaEncryption, type WorkerLike } from "../src/e2ee/media-encryption.js";
import { kidFor, MediaKeyStore, type EpochKeys } from "../src/e2ee/media-keys.js";
import { decodeHeader, deriveKey, encrypt, REPLAY_WINDOW, type SFrameKey } from "../src/e2ee/sframe.js";
import {
  clearPrefixLength,
  codecOf,
  decryptFrame,
  encryptFrame,
  FrameTransform,
  type DecryptedFrame,
  type EncodedFrame,
  type TransformOptions,
} from "../src/e2ee/transform.js";
import { MediaWorker, transformOptions, type ScriptTransformer } from "../src/e2ee/worker.js";
import type { FromWorker, ToWorker } from "../src/e2ee/worker-messages.js";

const secret = (epoch: bigint): Uint8Array => new Uint8Array(16).fill(Number(epoch) + 40);
const epochKeys = (epoch: bigint, own: number): EpochKeys => ({
  epoch,
  epochSecret: secret(epoch),
  ownLeafIndex: own,
  memberLeafIndices: [0, 1, 2],
});

/** Alice (leaf 0) sends, Bob (leaf 1) receives, both in `epoch`. */
function pair(epoch = 4n, bobOptions = {}) {
  const alice = new MediaKeyStore();
  const bob = new MediaKeyStore(bobOptions);
  alice.setKeys(epochKeys(epoch, 0));
  bob.setKeys(epochKeys(epoch, 1));
  return { alice, bob };
}

// A VP8 key frame: frame tag with P = 0, start code 9d 01 2a, 640×360; then "picture".
const vp8Key = new Uint8Array([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, ...new Array(200).fill(0x77)]);
// A VP8 delta frame: P = 1.
const vp8Delta = new Uint8Array([0x31, 0x12, 0x00, ...new Array(60).fill(0x66)]);
// An Opus frame: a TOC byte, then payload.
const opus = new Uint8Array([0x78, ...new Array(80).fill(0x55)]);

test("clear prefix: VP8 key frame 10 bytes, delta frame 3, Opus 1, others none; too short is malformed", () => {
  assert.equal(clearPrefixLength("vp8", vp8Key), 10);
  assert.equal(clearPrefixLength("vp8", vp8Delta), 3);
  assert.equal(clearPrefixLength("opus", opus), 1);
  assert.equal(clearPrefixLength("other", new Uint8Array(0)), 0);
  assert.equal(clearPrefixLength("vp8", vp8Key.subarray(0, 9)), null);
  assert.equal(clearPrefixLength("vp8", vp8Delta.subarray(0, 2)), null);
  assert.equal(clearPrefixLength("vp8", new Uint8Array(0)), null);
  assert.equal(clearPrefixLength("opus", new Uint8Array(0)), null);
});

test("codec from mime type or name, defaulting by kind", () => {
  assert.equal(codecOf("video/VP8", "video"), "vp8");
  assert.equal(codecOf("audio/opus", "audio"), "opus");
  assert.equal(codecOf("opus", "audio"), "opus");
  assert.equal(codecOf("video/H264", "video"), "other");
  assert.equal(codecOf(undefined, "video"), "vp8");
  assert.equal(codecOf(undefined, "audio"), "opus");
});

for (const [name, codec, frame, prefix] of [
  ["VP8 key frame", "vp8", vp8Key, 10],
  ["VP8 delta frame", "vp8", vp8Delta, 3],
  ["Opus frame", "opus", opus, 1],
] as const) {
  test(`${name}: [${prefix} clear bytes][SFrame header][ciphertext + tag], and back`, async () => {
    const { alice, bob } = pair();
    const sent = await encryptFrame(alice, codec, frame);
    assert.ok(sent instanceof Uint8Array);
    assert.deepEqual(sent.subarray(0, prefix), frame.subarray(0, prefix), "prefix in clear");
    const header = decodeHeader(sent, prefix)!;
    assert.equal(header.kid, kidFor(0, 4n));
    assert.equal(header.ctr, 0n);
    assert.equal(sent.length, frame.length + header.length + 16);
    // The rest is not the plaintext.
    const body = sent.subarray(prefix + header.length, sent.length - 16);
    assert.notDeepEqual(body, frame.subarray(prefix));
    const got = (await decryptFrame(bob, codec, sent)) as DecryptedFrame;
    assert.deepEqual(got.data, frame);
    assert.equal(got.leafIndex, 0);
    assert.equal(got.epoch, 4n);
  });
}

test("the SFU's view: the VP8 key frame flag survives encryption", async () => {
  const { alice } = pair();
  const key = (await encryptFrame(alice, "vp8", vp8Key)) as Uint8Array;
  const delta = (await encryptFrame(alice, "vp8", vp8Delta)) as Uint8Array;
  assert.equal(key[0]! & 1, 0);
  assert.equal(delta[0]! & 1, 1);
});

test("injected plaintext frames are dropped, never passed on", async () => {
  const { bob } = pair();
  assert.equal(typeof (await decryptFrame(bob, "vp8", vp8Key)), "string");
  assert.equal(typeof (await decryptFrame(bob, "vp8", vp8Delta)), "string");
  assert.equal(typeof (await decryptFrame(bob, "opus", opus)), "string");
  assert.equal(await decryptFrame(bob, "opus", new Uint8Array([0x78])), "malformed");
  assert.equal(await decryptFrame(bob, "opus", new Uint8Array(0)), "empty");
  assert.equal(await decryptFrame(bob, "other", new Uint8Array(0)), "empty");
  // A frame shaped like ours, by someone without the key.
  const forged = new Uint8Array([0x78, ...(await encrypt(await deriveKey(new Uint8Array(16), kidFor(0, 4n), "encrypt"), 0n, opus.subarray(1), opus.subarray(0, 1)))]);
  assert.equal(await decryptFrame(bob, "opus", forged), "unauthentic");
});

test("a changed clear byte (prefix, header) or ciphertext byte makes the frame drop", async () => {
  const { alice, bob } = pair();
  const sent = (await encryptFrame(alice, "vp8", vp8Key)) as Uint8Array;
  for (const i of [1, 6, 9, 10, 11, 40, sent.length - 1]) {
    const bad = sent.slice();
    bad[i]! ^= 0x04;
    assert.equal(typeof (await decryptFrame(bob, "vp8", bad)), "string", `byte ${i}`);
  }
  // Flipping the P bit moves where the receiver looks for the header.
  const flipped = sent.slice();
  flipped[0]! ^= 1;
  assert.equal(typeof (await decryptFrame(bob, "vp8", flipped)), "string");
});

test("our own frames reflected back by a server are dropped", async () => {
  const { alice } = pair();
  const sent = (await encryptFrame(alice, "opus", opus)) as Uint8Array;
  assert.equal(await decryptFrame(alice, "opus", sent), "own-kid");
});

test("no keys yet: the sender sends nothing, the receiver passes nothing", async () => {
  const empty = new MediaKeyStore();
  assert.equal(await encryptFrame(empty, "vp8", vp8Key), "no-key");
  const { alice: keyed } = pair();
  assert.equal(await encryptFrame(keyed, "opus", new Uint8Array(0)), "empty");
  const { alice } = pair();
  const sent = (await encryptFrame(alice, "vp8", vp8Key)) as Uint8Array;
  assert.equal(await decryptFrame(empty, "vp8", sent), "unknown-epoch");
});

test("frames from the previous epoch decrypt within the window, not after it", async () => {
  let now = 0;
  const { alice, bob } = pair(4n, { now: () => now, retireAfterMs: 3000 });
  const late = (await encryptFrame(alice, "vp8", vp8Delta)) as Uint8Array;
  alice.setKeys(epochKeys(5n, 0));
  bob.setKeys(epochKeys(5n, 1));
  const fresh = (await encryptFrame(alice, "vp8", vp8Delta)) as Uint8Array;
  assert.equal(decodeHeader(fresh, 3)!.kid, kidFor(0, 5n));
  assert.equal(decodeHeader(fresh, 3)!.ctr, 1n, "the counter goes on under the new KID");
  now = 2000;
  assert.equal(((await decryptFrame(bob, "vp8", late)) as DecryptedFrame).epoch, 4n);
  assert.equal(((await decryptFrame(bob, "vp8", fresh)) as DecryptedFrame).epoch, 5n);
  now = 3001;
  assert.equal(await decryptFrame(bob, "vp8", late), "unknown-epoch");
});

// ---- replays ---------------------------------------------------------------------------------

let aliceKey: Promise<SFrameKey> | null = null;

/** Alice's (leaf 0, epoch 4) frame `f` as if her counter stood at `ctr`. */
async function aliceFrameAt(ctr: bigint | number, f: Uint8Array = opus): Promise<Uint8Array> {
  aliceKey ??= deriveKey(secret(4n), kidFor(0, 4n), "encrypt");
  const prefix = clearPrefixLength(codecOf(undefined, f === opus ? "audio" : "video"), f)!;
  const sealed = await encrypt(await aliceKey, BigInt(ctr), f.subarray(prefix), f.subarray(0, prefix));
  return new Uint8Array([...f.subarray(0, prefix), ...sealed]);
}

test("a frame the server sends again is dropped as a replay", async () => {
  const { alice, bob } = pair();
  const sent = (await encryptFrame(alice, "opus", opus)) as Uint8Array;
  assert.deepEqual(((await decryptFrame(bob, "opus", sent)) as DecryptedFrame).data, opus);
  assert.equal(await decryptFrame(bob, "opus", sent), "replay");
  assert.equal(await decryptFrame(bob, "opus", sent.slice()), "replay");
  // The same frame on its way twice at once: one copy passes.
  const next = (await encryptFrame(alice, "opus", opus)) as Uint8Array;
  const both = await Promise.all([decryptFrame(bob, "opus", next), decryptFrame(bob, "opus", next)]);
  assert.deepEqual(both.map((r) => (typeof r === "string" ? r : "passed")).sort(), ["passed", "replay"]);
});

test("frames reordered within the window pass, once each; frames older than the window are dropped", async () => {
  const { bob } = pair();
  const top = 5000;
  for (const ctr of [top - 3, top, top - 1, top - 2]) {
    assert.equal(typeof (await decryptFrame(bob, "opus", await aliceFrameAt(ctr))), "object", `ctr ${ctr}`);
  }
  assert.equal(await decryptFrame(bob, "opus", await aliceFrameAt(top - 1)), "replay");
  const oldest = top - REPLAY_WINDOW + 1;
  assert.equal(typeof (await decryptFrame(bob, "opus", await aliceFrameAt(oldest))), "object", "the oldest the window holds");
  assert.equal(await decryptFrame(bob, "opus", await aliceFrameAt(oldest - 1)), "replay", "never seen, but too old");
  assert.equal(await decryptFrame(bob, "opus", await aliceFrameAt(3)), "replay");
});

test("a forged frame with a high CTR does not move the window", async () => {
  const { bob } = pair();
  assert.equal(typeof (await decryptFrame(bob, "opus", await aliceFrameAt(10))), "object");
  // Alice's KID, a CTR far ahead, but not her key.
  const wrongKey = await deriveKey(new Uint8Array(16).fill(1), kidFor(0, 4n), "encrypt");
  for (const ctr of [1_000_000n, 11n]) {
    const forged = new Uint8Array([0x78, ...(await encrypt(wrongKey, ctr, opus.subarray(1), opus.subarray(0, 1)))]);
    assert.equal(await decryptFrame(bob, "opus", forged), "unauthentic");
  }
  // Had the forgery moved the window, these would be "too old" or "seen".
  assert.equal(typeof (await decryptFrame(bob, "opus", await aliceFrameAt(5))), "object");
  assert.equal(typeof (await decryptFrame(bob, "opus", await aliceFrameAt(11))), "object");
  assert.equal(await decryptFrame(bob, "opus", await aliceFrameAt(10)), "replay");
});

// ---- FrameTransform as a stream ----------------------------------------------------------

function frame(data: Uint8Array, mimeType?: string): EncodedFrame {
  const meta = mimeType === undefined ? {} : { mimeType };
  return { data: data.slice().buffer, getMetadata: () => meta };
}

async function run(t: FrameTransform, frames: EncodedFrame[]): Promise<EncodedFrame[]> {
  const out: EncodedFrame[] = [];
  const source = new ReadableStream<EncodedFrame>({
    start(c) {
      for (const f of frames) c.enqueue(f);
      c.close();
    },
  });
  await source.pipeThrough(t.stream()).pipeTo(new WritableStream({ write: (f) => void out.push(f) }));
  return out;
}

const video = (side: "send" | "receive", id = "cam"): TransformOptions => ({ id, side, kind: "video" });

test("FrameTransform: a send/receive pair keeps frame order and drops only what it must", async () => {
  const { alice, bob } = pair();
  const events: string[] = [];
  const sender = new FrameTransform(alice, video("send"));
  const receiver = new FrameTransform(bob, video("receive"), {
    recovered: () => events.push("recovered"),
    senderChanged: (leaf) => events.push(`sender ${leaf}`),
  });
  const sent = await run(sender, [frame(vp8Key, "video/VP8"), frame(vp8Delta, "video/VP8"), frame(vp8Delta)]);
  assert.equal(sent.length, 3);
  assert.deepEqual(sender.stats, { id: "cam", side: "send", kind: "video", frames: 3, dropped: {}, senderLeafIndex: null });

  // The server injects a plaintext frame between two real ones.
  const received = await run(receiver, [sent[0]!, frame(vp8Delta), sent[1]!, sent[2]!]);
  assert.deepEqual(
    received.map((f) => new Uint8Array(f.data)),
    [vp8Key, vp8Delta, vp8Delta],
  );
  assert.equal(receiver.stats.frames, 3);
  const dropped = Object.values(receiver.stats.dropped).reduce((a, b) => a + b, 0);
  assert.equal(dropped, 1);
  assert.equal(receiver.stats.senderLeafIndex, 0);
  assert.deepEqual(events, ["sender 0", "recovered"]);
});

test("FrameTransform: one sender's streams interleave and lag each other and all pass; a frame copied to another stream is a replay", async () => {
  const { alice, bob } = pair();
  const camera = new FrameTransform(alice, video("send", "camera"));
  const mic = new FrameTransform(alice, { id: "mic", side: "send", kind: "audio" });
  // Alice's camera (three simulcast layers, each frame its own CTR) and
  // microphone draw from one counter, frame by frame as captured.
  const layers: EncodedFrame[][] = [[], [], []];
  const audio: EncodedFrame[] = [];
  for (let i = 0; i < 300; i++) {
    audio.push(...(await run(mic, [frame(opus, "audio/opus")])));
    if (i % 2 === 0) for (const layer of layers) layer.push(...(await run(camera, [frame(i % 60 === 0 ? vp8Key : vp8Delta, "video/VP8")])));
  }
  assert.equal(camera.stats.frames + mic.stats.frames, 750);

  // Bob gets one layer. All the audio comes first; the video lags behind it
  // (so its CTRs are all below the newest audio CTR), a few of its frames
  // swapped on the way.
  const bobAudio = new FrameTransform(bob, { id: "mid1", side: "receive", kind: "audio" });
  const bobVideo = new FrameTransform(bob, video("receive", "mid2"));
  const wire = (f: EncodedFrame): EncodedFrame => frame(new Uint8Array(f.data));
  assert.equal((await run(bobAudio, audio.map(wire))).length, 300);
  const oneLayer = layers[1]!.map(wire);
  [oneLayer[10], oneLayer[11]] = [oneLayer[11]!, oneLayer[10]!];
  assert.equal((await run(bobVideo, oneLayer)).length, 150);
  assert.deepEqual([bobAudio.stats.dropped, bobVideo.stats.dropped], [{}, {}]);

  // The server shows Alice's camera on a second stream too, and replays audio.
  const copy = new FrameTransform(bob, video("receive", "mid3"));
  assert.deepEqual(await run(copy, layers[1]!.slice(140).map(wire)), []);
  assert.deepEqual(copy.stats.dropped, { replay: 10 });
  assert.deepEqual(await run(bobAudio, audio.slice(0, 5).map(wire)), []);
  assert.deepEqual(bobAudio.stats.dropped, { replay: 5 });
});

test("FrameTransform: without keys a sender drops every frame", async () => {
  const t = new FrameTransform(new MediaKeyStore(), { id: "mic", side: "send", kind: "audio" });
  assert.deepEqual(await run(t, [frame(opus), frame(opus)]), []);
  assert.deepEqual(t.stats.dropped, { "no-key": 2 });
});

// ---- the worker and the page ---------------------------------------------------------------

/** A fake RTCRtpScriptTransformer fed with `frames`; collects what the transform writes. */
function transformer(options: unknown, frames: EncodedFrame[]) {
  const written: EncodedFrame[] = [];
  const calls: string[] = [];
  let cancelled = false;
  const t: ScriptTransformer = {
    options,
    readable: new ReadableStream<EncodedFrame>({
      start(c) {
        for (const f of frames) c.enqueue(f);
        c.close();
      },
      cancel() {
        cancelled = true;
      },
    }),
    writable: new WritableStream<EncodedFrame>({ write: (f) => void written.push(f) }),
    generateKeyFrame: async () => void calls.push("generateKeyFrame"),
    sendKeyFrameRequest: async () => void calls.push("sendKeyFrameRequest"),
  };
  return { t, written, calls, cancelled: () => cancelled };
}

test("transformOptions accepts only well-formed options", () => {
  assert.deepEqual(transformOptions({ id: "a", side: "send", kind: "video", codec: "video/VP8" }), {
    id: "a",
    side: "send",
    kind: "video",
    codec: "video/VP8",
  });
  assert.equal(transformOptions({ id: "a", side: "sideways", kind: "video" }), null);
  assert.equal(transformOptions(undefined), null);
});

test("MediaWorker: a stream with bad options is stopped, not passed through", async () => {
  const posted: FromWorker[] = [];
  const w = new MediaWorker((m) => posted.push(m));
  const x = transformer({ side: "send" }, [frame(vp8Key)]);
  await w.attach(x.t);
  assert.equal(x.written.length, 0);
  assert.ok(x.cancelled());
  assert.equal(posted[0]?.type, "error");
});

test("MediaWorker: a new epoch asks sending video streams for a key frame", async () => {
  const w = new MediaWorker(() => undefined);
  w.handle({ type: "setKeys", keys: epochKeys(1n, 0) });
  // A stream that stays open while keys change.
  let feed!: ReadableStreamDefaultController<EncodedFrame>;
  const calls: string[] = [];
  const t: ScriptTransformer = {
    options: video("send"),
    readable: new ReadableStream({
      start: (c) => {
        feed = c;
      },
    }),
    writable: new WritableStream(),
    generateKeyFrame: async () => void calls.push("key frame"),
  };
  const done = w.attach(t);
  w.handle({ type: "setKeys", keys: epochKeys(1n, 0) }); // same epoch again: nothing
  w.handle({ type: "setKeys", keys: epochKeys(2n, 0) });
  assert.deepEqual(calls, ["key frame"]);
  feed.close();
  await done;
});

/** A sending video stream on `w` that stays open; push() encrypts one frame and returns what was sent. */
function openSender(w: MediaWorker) {
  let feed!: ReadableStreamDefaultController<EncodedFrame>;
  const sent: EncodedFrame[] = [];
  const calls: string[] = [];
  let wrote: (() => void) | null = null;
  const t: ScriptTransformer = {
    options: video("send"),
    readable: new ReadableStream({
      start: (c) => {
        feed = c;
      },
    }),
    writable: new WritableStream({
      write: (f) => {
        sent.push(f);
        wrote?.();
      },
    }),
    generateKeyFrame: async () => void calls.push("key frame"),
  };
  const done = w.attach(t);
  return {
    calls,
    push: (data: Uint8Array): Promise<Uint8Array> =>
      new Promise((resolve) => {
        wrote = () => resolve(new Uint8Array(sent.at(-1)!.data));
        feed.enqueue(frame(data, "video/VP8"));
      }),
    close: () => {
      feed.close();
      return done;
    },
  };
}

test("MediaWorker: keys of a new group at epoch 0 replace the old group's; frames go out under the new key", async () => {
  const errors: string[] = [];
  const w = new MediaWorker((m) => void (m.type === "error" && errors.push(m.message)));
  const oldGroup = (epoch: bigint): EpochKeys => ({ ...epochKeys(epoch, 0), groupInstance: "before the restart" });
  w.handle({ type: "setKeys", keys: oldGroup(6n) });
  const s = openSender(w);
  const before = await s.push(vp8Delta);
  assert.equal(decodeHeader(before, 3)!.kid, kidFor(0, 6n));

  // The server restarted; Alice created the meeting's group again.
  const newGroup = { epoch: 0n, epochSecret: new Uint8Array(16).fill(0xa5), ownLeafIndex: 0, memberLeafIndices: [0, 1], groupInstance: "after" };
  w.handle({ type: "setKeys", keys: newGroup });
  assert.deepEqual(errors, []);
  assert.deepEqual(s.calls, ["key frame"]);
  const after = await s.push(vp8Delta);
  assert.equal(decodeHeader(after, 3)!.kid, kidFor(0, 0n));

  // Bob joined the new group only: he has its keys and nothing else.
  const bob = new MediaKeyStore();
  bob.setKeys({ ...newGroup, ownLeafIndex: 1 });
  assert.deepEqual(((await decryptFrame(bob, "vp8", after)) as DecryptedFrame).data, vp8Delta);
  assert.equal(await decryptFrame(bob, "vp8", before), "unknown-epoch");
  await s.close();
});

test("MediaWorker: after a new group, an older epoch of that group is still refused and the current key kept", async () => {
  const errors: string[] = [];
  const w = new MediaWorker((m) => void (m.type === "error" && errors.push(m.message)));
  w.handle({ type: "setKeys", keys: { ...epochKeys(0n, 0), groupInstance: "first" } });
  const s = openSender(w);
  // A new group at the same epoch number is new keys all the same (a key frame is asked for).
  const second = (epoch: bigint): EpochKeys => ({ ...epochKeys(epoch, 0), epochSecret: new Uint8Array(16).fill(Number(epoch) + 90), groupInstance: "second" });
  w.handle({ type: "setKeys", keys: second(0n) });
  w.handle({ type: "setKeys", keys: second(1n) });
  assert.deepEqual(s.calls, ["key frame", "key frame"]);
  assert.deepEqual(errors, []);
  w.handle({ type: "setKeys", keys: second(0n) });
  w.handle({ type: "setKeys", keys: { ...second(1n), epochSecret: new Uint8Array(16).fill(1) } });
  assert.equal(errors.length, 2);
  const sent = await s.push(vp8Delta);
  const bob = new MediaKeyStore();
  bob.setKeys({ ...second(1n), ownLeafIndex: 1 });
  assert.deepEqual(((await decryptFrame(bob, "vp8", sent)) as DecryptedFrame).data, vp8Delta, "still epoch 1 of the second group");
  await s.close();
});

test("page ↔ worker: keys, protected sender and receiver, sender event and statistics", async () => {
  // Wire MediaEncryption to a MediaWorker through fake message passing.
  let toPage: ((m: FromWorker) => void) | null = null;
  const worker = new MediaWorker((m) => queueMicrotask(() => toPage?.(structuredClone(m))));
  const fake: WorkerLike = {
    postMessage: (m: ToWorker) => queueMicrotask(() => worker.handle(structuredClone(m))),
    terminate: () => undefined,
    onmessage: null,
  };
  const made: TransformOptions[] = [];
  const page = new MediaEncryption(fake, (_w, o) => {
    made.push(o);
    return {} as RTCRtpScriptTransform;
  });
  toPage = (m) => fake.onmessage?.({ data: m } as MessageEvent<FromWorker>);

  const sender = { transform: null as RTCRtpScriptTransform | null };
  const receiver = { transform: null as RTCRtpScriptTransform | null };
  page.protectSender(sender, { id: "camera", kind: "video" });
  page.protectReceiver(receiver, { id: "mid3", kind: "audio", codec: "audio/opus" });
  assert.ok(sender.transform && receiver.transform);
  assert.deepEqual(made, [
    { id: "camera", kind: "video", side: "send" },
    { id: "mid3", kind: "audio", codec: "audio/opus", side: "receive" },
  ]);

  // Bob's page: keys of epoch 4, leaf 1. Alice's frames arrive on "mid3".
  page.setKeys(epochKeys(4n, 1));
  const senders: string[] = [];
  page.onSender = (stream, leaf) => senders.push(`${stream}:${leaf}`);
  const { alice } = pair();
  const fromAlice = (await encryptFrame(alice, "opus", opus)) as Uint8Array;
  await new Promise((r) => setTimeout(r, 0)); // let setKeys arrive
  const x = transformer(made[1], [frame(fromAlice), frame(opus)]);
  await worker.attach(x.t);
  assert.deepEqual(
    x.written.map((f) => new Uint8Array(f.data)),
    [opus],
  );
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(senders, ["mid3:0"]);

  // Statistics of a stream that is still running.
  const y = transformer(made[0], []);
  const open = new ReadableStream<EncodedFrame>({ start: () => undefined });
  const running = worker.attach({ ...y.t, readable: open });
  const stats = await page.stats();
  assert.deepEqual(stats, [{ id: "camera", side: "send", kind: "video", frames: 0, dropped: {}, senderLeafIndex: null }]);
  page.close();
  void running;
});
