import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BROADCAST_TEXT_MAX,
  BroadcastChannels,
  channelBody,
  newChannel,
  openBroadcast,
  parseChannel,
  sealBroadcast,
  type BroadcastContext,
} from "../src/meeting/breakout-broadcast.js";
import { parseServerMessage } from "../src/meeting/protocol.js";

const MEETING = "abc-defg-hij";
const people: Record<string, { role: string; name: string }> = {
  hana: { role: "host", name: "Hana" },
  cohen: { role: "cohost", name: "Cohen" },
  pat: { role: "participant", name: "Pat" },
};
const ctx: BroadcastContext = { e2ee: true, participant: (id) => people[id] };
const channelMsg = (claimed: string | null, body: unknown, priv = false) => ({ claimed, body, private: priv });

/** A receiver that took Hana's channel, and Hana's own side. */
function setUp() {
  const hana = new BroadcastChannels(MEETING);
  const bob = new BroadcastChannels(MEETING);
  assert.equal(bob.acceptChannel(channelMsg("hana", channelBody(hana.own())), ctx), true);
  return { hana, bob };
}

test("a host's broadcast opens for a receiver with its channel, once", () => {
  const { hana, bob } = setUp();
  const sealed = hana.seal("hana", "  Five minutes left  ")!;
  const relayed = { from: "hana", payload: sealed.payload, text: null };
  assert.deepEqual(bob.receive(relayed, ctx, "bob"), { from: "hana", name: "Hana", text: "Five minutes left", encrypted: true });
  // The host hears its own, through the same relay.
  assert.equal(hana.receive(relayed, ctx, "hana")?.text, "Five minutes left");
  // Replayed by the server: dropped, counted.
  assert.equal(bob.receive(relayed, ctx, "bob"), null);
  assert.equal(bob.dropped.replay, 1);
  // A new epoch brings the same channel again: the ids seen stay.
  bob.acceptChannel(channelMsg("hana", channelBody(hana.own())), ctx);
  assert.equal(bob.receive(relayed, ctx, "bob"), null);
  assert.equal(bob.dropped.replay, 2);
});

test("the channel: version 1, hex keys, from a host or co-host to everyone; nothing else is taken", () => {
  const own = newChannel();
  assert.deepEqual(parseChannel(channelBody(own)), { key: own.key, pub: own.pub });
  const good = channelBody(own);
  for (const bad of [null, [], "x", { ...good, v: 2 }, { ...good, key: good.key.slice(2) }, { ...good, pub: good.pub.toUpperCase() }, { v: 1, key: good.key }, { ...good, pad: "x".repeat(300) }]) {
    assert.equal(parseChannel(bad), null, JSON.stringify(bad)?.slice(0, 60));
  }
  const r = new BroadcastChannels(MEETING);
  assert.equal(r.acceptChannel(channelMsg("cohen", good), ctx), true, "a co-host");
  assert.equal(r.acceptChannel(channelMsg("pat", good), ctx), false, "a participant");
  assert.equal(r.acceptChannel(channelMsg("mallory", good), ctx), false, "someone not in the room");
  assert.equal(r.acceptChannel(channelMsg(null, good), ctx), false, "no claimed sender");
  assert.equal(r.acceptChannel(channelMsg("hana", good, true), ctx), false, "sealed to one");
  assert.equal(r.dropped["bad-channel"], 4);
});

test("forged, wrongly keyed, relabelled, unknown, oversized and malformed broadcasts are dropped", () => {
  const { hana, bob } = setUp();
  const drops = (m: { from: string; payload: Uint8Array | null; text: string | null }, reason: keyof typeof bob.dropped) => {
    const before = bob.dropped[reason];
    assert.equal(bob.receive(m, ctx, "bob"), null, reason);
    assert.equal(bob.dropped[reason], before + 1, reason);
  };
  // A participant who holds Hana's channel (every receiver does) seals its
  // own text with Hana's AEAD key but cannot sign as Hana.
  const stolen = { ...parseChannel(channelBody(hana.own()))!, secret: newChannel().secret };
  drops({ from: "hana", payload: sealBroadcast(stolen, MEETING, "hana", "Everyone leave now")!.payload, text: null }, "bad-signature");
  // Sealed under another key (a channel Bob never took).
  drops({ from: "hana", payload: sealBroadcast(newChannel(), MEETING, "hana", "hi")!.payload, text: null }, "bad-seal");
  // Hana's own broadcast, relabelled by the server as from Cohen (no channel) or from a participant.
  const real = hana.seal("hana", "Come back in 2 minutes")!.payload;
  drops({ from: "cohen", payload: real, text: null }, "unknown-sender");
  drops({ from: "pat", payload: real, text: null }, "unknown-sender");
  // Relabelled to a host whose channel Bob has: the sender is bound into the seal.
  const cohen = new BroadcastChannels(MEETING);
  bob.acceptChannel(channelMsg("cohen", channelBody(cohen.own())), ctx);
  drops({ from: "cohen", payload: real, text: null }, "bad-seal");
  // For another meeting (a server replaying across meetings).
  drops({ from: "hana", payload: sealBroadcast(hana.own(), "other-meeting", "hana", "hi")!.payload, text: null }, "bad-seal");
  // A flipped byte, a truncated one, an oversized one.
  const flipped = real.slice();
  flipped[40]! ^= 1;
  drops({ from: "hana", payload: flipped, text: null }, "bad-seal");
  drops({ from: "hana", payload: real.slice(0, 90), text: null }, "malformed");
  drops({ from: "hana", payload: new Uint8Array(7000), text: null }, "malformed");
  // Text in clear in an end-to-end encrypted meeting (a server downgrading).
  drops({ from: "hana", payload: null, text: "in clear" }, "clear-in-e2ee");
  // A signed body that breaks the schema: too long, wrong version.
  assert.equal(sealBroadcast(hana.own(), MEETING, "hana", "x".repeat(BROADCAST_TEXT_MAX + 1)), null, "the sender refuses too long a text");
  assert.equal(sealBroadcast(hana.own(), MEETING, "hana", " \u0000 "), null, "and an empty one");
  // The real one still opens afterwards.
  assert.equal(bob.receive({ from: "hana", payload: real, text: null }, ctx, "bob")?.text, "Come back in 2 minutes");
});

test("a signed body outside the schema is dropped", async () => {
  const { ed25519 } = await import("@noble/curves/ed25519.js");
  const { xchacha20poly1305 } = await import("@noble/ciphers/chacha.js");
  const { hana, bob } = setUp();
  const own = hana.own();
  const seal = (body: unknown): Uint8Array => {
    const enc = new TextEncoder();
    const ctxBytes = enc.encode(`kaigi breakout broadcast v1\u0000${MEETING}\u0000hana\u0000`);
    const b = enc.encode(JSON.stringify(body));
    const sig = ed25519.sign(new Uint8Array([...ctxBytes, ...b]), own.secret);
    const nonce = new Uint8Array(24).fill(7);
    return new Uint8Array([...nonce, ...xchacha20poly1305(own.key, nonce, ctxBytes).encrypt(new Uint8Array([...sig, ...b]))]);
  };
  const id = "0123456789abcdef0123456789abcdef";
  assert.deepEqual(openBroadcast(own, MEETING, "hana", seal({ v: 1, id, text: "ok" })), { id, text: "ok" }, "the helper seals as the sender does");
  for (const body of [{ v: 2, id, text: "ok" }, { v: 1, id: "short", text: "ok" }, { v: 1, id, text: 5 }, { v: 1, id, text: "x".repeat(1001) }, { v: 1, id, text: "a\u202eb" }, [1]]) {
    assert.equal(bob.receive({ from: "hana", payload: seal(body), text: null }, ctx, "bob"), null, JSON.stringify(body).slice(0, 50));
  }
  assert.equal(bob.dropped.malformed, 6);
});

test("without end-to-end encryption a broadcast is text in clear, said to be so", () => {
  const r = new BroadcastChannels(MEETING);
  const clear = { ...ctx, e2ee: false };
  assert.deepEqual(r.receive({ from: "hana", payload: null, text: "Wrap up" }, clear, "bob"), { from: "hana", name: "Hana", text: "Wrap up", encrypted: false });
  assert.equal(r.receive({ from: "hana", payload: new Uint8Array(200), text: null }, clear, "bob"), null);
  assert.equal(r.receive({ from: "hana", payload: null, text: "x".repeat(1001) }, clear, "bob"), null);
  assert.equal(r.dropped["sealed-in-clear"], 1);
  assert.equal(r.dropped.malformed, 1);
});

test("a host's new rooms get a new channel", () => {
  const r = new BroadcastChannels(MEETING);
  const first = r.own();
  assert.equal(r.own(), first);
  r.forgetOwn();
  assert.notDeepEqual(r.own().key, first.key);
});

test("the relayed message: a sealed payload (base64) or text, with the sender the server names", () => {
  assert.deepEqual(parseServerMessage(JSON.stringify({ type: "breakout_broadcast", from: "hana", payload: "AAEC" })), {
    ok: true,
    message: { type: "breakout_broadcast", from: "hana", payload: "AAEC", text: null },
  });
  assert.deepEqual(parseServerMessage(JSON.stringify({ type: "breakout_broadcast", from: "hana", text: "hi" })), {
    ok: true,
    message: { type: "breakout_broadcast", from: "hana", payload: null, text: "hi" },
  });
  assert.equal(parseServerMessage(JSON.stringify({ type: "breakout_broadcast", from: "hana", payload: "not base64!" })).ok, false);
  assert.equal(parseServerMessage(JSON.stringify({ type: "breakout_broadcast", payload: "AAEC" })).ok, false);
});
