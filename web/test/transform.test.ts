import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaEncryption, type WorkerLike } from "../src/e2ee/media-encryption.js";
import { kidFor, MediaKeyStore, type EpochKeys } from "../src/e2ee/media-keys.js";
import { decodeHeader, deriveKey, encrypt } from "../src/e2ee/sframe.js";
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
  assert.equal(decodeHeader(fresh, 3)!.ctr, 0n, "a new KID starts its counter at 0");
  now = 2000;
  assert.equal(((await decryptFrame(bob, "vp8", late)) as DecryptedFrame).epoch, 4n);
  assert.equal(((await decryptFrame(bob, "vp8", fresh)) as DecryptedFrame).epoch, 5n);
  now = 3001;
  assert.equal(await decryptFrame(bob, "vp8", late), "unknown-epoch");
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
    readable: new ReadableStream({ start: (c) => void (feed = c) }),
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
