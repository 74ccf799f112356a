// A host's message to every breakout room (issue 14), end-to-end encrypted
// and signed although the host is not a member of the rooms' groups.
//
// The channel. A host or co-host makes, once per page and while breakout
// rooms last, a 32-byte XChaCha20-Poly1305 key and an Ed25519 key pair,
// and gives `{v: 1, key, pub}` (hex) to everyone in its current group as
// an MLS application message of kind "breakout_channel": right before it
// opens rooms (so that those sent away at once have it), and again in each
// new epoch while rooms are open (those who joined since). A receiver takes
// it only from the participant its MLS leaf announced, to everyone (not
// sealed to one), whose role in the roster is host or co-host, and keeps it
// per sender for as long as the page lives, across moves between rooms; a
// newer channel from the same sender replaces the older.
//
// A broadcast. `{v: 1, id: 16 random bytes (hex), text: ≤ 1000 characters}`,
// signed with the channel's Ed25519 key over a context that names the
// meeting and the sender, then sealed with the channel's key (random
// 24-byte nonce; the same context as associated data):
//
//   payload = nonce ‖ XChaCha20-Poly1305(key, nonce, aad = context)(signature ‖ body)
//
// and sent as the signalling message `breakout_broadcast {payload}`, which
// the server relays to every room tagged with the sender's participant ID.
// A receiver opens it only with that sender's channel, checks the
// signature and the schema, and drops an id it has seen; anything else is
// dropped silently and counted (`dropped`). The AEAD key alone does not let
// a participant who holds it forge a host's message: the signature needs
// the host's secret key, which never leaves its page.
//
// In a meeting without end-to-end encryption the broadcast is text in
// clear, and the screen says so.

import { ed25519 } from "@noble/curves/ed25519.js";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { concatBytes, fromHex, toHex } from "../e2ee/bytes.js";

export const CHANNEL_KIND = "breakout_channel";
export const BROADCAST_VERSION = 1;
/** The longest broadcast, in characters (UTF-16 code units, as the field counts them). */
export const BROADCAST_TEXT_MAX = 1000;
/** The largest sealed payload the server relays (docs/protocol.md). */
export const BROADCAST_PAYLOAD_MAX = 6 << 10;
const CHANNEL_BODY_MAX = 256;
const NONCE = 24;
const SIGNATURE = 64;
/** How many ids each channel remembers against replays (far more than its rate allows in a meeting). */
const SEEN_MAX = 4096;

/** A channel as receivers keep it. */
export interface ChannelKeys {
  key: Uint8Array;
  pub: Uint8Array;
}

/** This page's own channel: with the signing key. */
export interface OwnChannel extends ChannelKeys {
  secret: Uint8Array;
}

export function newChannel(): OwnChannel {
  const secret = ed25519.utils.randomSecretKey();
  return { key: randomBytes(32), pub: ed25519.getPublicKey(secret), secret };
}

export function channelBody(c: ChannelKeys): { v: 1; key: string; pub: string } {
  return { v: BROADCAST_VERSION, key: toHex(c.key), pub: toHex(c.pub) };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A received channel body, or null when it is not a valid version-1 one. */
export function parseChannel(body: unknown): ChannelKeys | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  if (JSON.stringify(body).length > CHANNEL_BODY_MAX) return null;
  const b = body as { v?: unknown; key?: unknown; pub?: unknown };
  if (b.v !== BROADCAST_VERSION || typeof b.key !== "string" || typeof b.pub !== "string" || !HEX64.test(b.key) || !HEX64.test(b.pub)) return null;
  return { key: fromHex(b.key), pub: fromHex(b.pub) };
}

/** Removes control and invisible format characters (a banner is one paragraph) and trims; null if nothing is left or it is too long. */
export function cleanBroadcastText(text: string): string | null {
  const t = text.replace(/[\p{Cc}\p{Cf}]+/gu, " ").trim();
  return t === "" || t.length > BROADCAST_TEXT_MAX ? null : t;
}

/** What the signature and the associated data bind: the meeting and the sender. */
function context(meetingId: string, from: string): Uint8Array {
  return new TextEncoder().encode(`kaigi breakout broadcast v1\u0000${meetingId}\u0000${from}\u0000`);
}

/** Seals a broadcast; null when the text is empty or too long. */
export function sealBroadcast(own: OwnChannel, meetingId: string, from: string, text: string): { id: string; payload: Uint8Array } | null {
  const t = cleanBroadcastText(text);
  if (t === null) return null;
  const id = toHex(randomBytes(16));
  const body = new TextEncoder().encode(JSON.stringify({ v: BROADCAST_VERSION, id, text: t }));
  const ctx = context(meetingId, from);
  const signature = ed25519.sign(concatBytes(ctx, body), own.secret);
  const nonce = randomBytes(NONCE);
  const sealed = xchacha20poly1305(own.key, nonce, ctx).encrypt(concatBytes(signature, body));
  return { id, payload: concatBytes(nonce, sealed) };
}

/** Why a broadcast was dropped. */
export type DropReason = "malformed" | "unknown-sender" | "bad-seal" | "bad-signature" | "replay" | "clear-in-e2ee" | "sealed-in-clear";

/** Opens a sealed broadcast with the sender's channel: its id and text, or why not. */
export function openBroadcast(ch: ChannelKeys, meetingId: string, from: string, payload: Uint8Array): { id: string; text: string } | DropReason {
  if (payload.length <= NONCE + SIGNATURE + 16 || payload.length > BROADCAST_PAYLOAD_MAX) return "malformed";
  const ctx = context(meetingId, from);
  let opened: Uint8Array;
  try {
    opened = xchacha20poly1305(ch.key, payload.subarray(0, NONCE), ctx).decrypt(payload.subarray(NONCE));
  } catch {
    return "bad-seal";
  }
  const signature = opened.subarray(0, SIGNATURE);
  const body = opened.subarray(SIGNATURE);
  let ok = false;
  try {
    ok = ed25519.verify(signature, concatBytes(ctx, body), ch.pub);
  } catch {
    ok = false;
  }
  if (!ok) return "bad-signature";
  let b: unknown;
  try {
    b = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return "malformed";
  }
  if (typeof b !== "object" || b === null || Array.isArray(b)) return "malformed";
  const { v, id, text } = b as { v?: unknown; id?: unknown; text?: unknown };
  if (v !== BROADCAST_VERSION || typeof id !== "string" || !/^[0-9a-f]{32}$/.test(id) || typeof text !== "string") return "malformed";
  const t = cleanBroadcastText(text);
  if (t === null || t !== text) return "malformed";
  return { id, text: t };
}

/** A broadcast as the screen shows it. */
export interface Heard {
  from: string;
  /** The sender's name when its channel arrived (or the roster's now). */
  name: string;
  text: string;
  /** Sealed and signed (end-to-end encrypted), or in clear. */
  encrypted: boolean;
}

/** What a receiver needs to know about the meeting right now. */
export interface BroadcastContext {
  /** The meeting is end-to-end encrypted, as this client holds it (not the server's word alone). */
  e2ee: boolean;
  /** A participant's role and name in this room's roster (undefined: not here). */
  participant(id: string): { role: string; name: string } | undefined;
}

/**
 * The channels this page holds, its own included, for one meeting: kept
 * across moves between its rooms (channelsFor).
 */
export class BroadcastChannels {
  private readonly channels = new Map<string, { keys: ChannelKeys; name: string; seen: Set<string> }>();
  private ownChannel: OwnChannel | null = null;
  private ownSeen = new Set<string>();
  /** Broadcasts and channels dropped, by reason (for debugging). */
  readonly dropped: Record<DropReason | "bad-channel", number> = {
    malformed: 0,
    "unknown-sender": 0,
    "bad-seal": 0,
    "bad-signature": 0,
    replay: 0,
    "clear-in-e2ee": 0,
    "sealed-in-clear": 0,
    "bad-channel": 0,
  };

  constructor(readonly meetingId: string) {}

  /** This page's channel, made on first use. */
  own(): OwnChannel {
    this.ownChannel ??= newChannel();
    return this.ownChannel;
  }

  get hasOwn(): boolean {
    return this.ownChannel !== null;
  }

  /** The rooms closed: the next ones get a fresh channel. */
  forgetOwn(): void {
    this.ownChannel = null;
    this.ownSeen = new Set();
  }

  /** A `breakout_channel` application message arrived; whether it was taken. */
  acceptChannel(m: { claimed: string | null; private: boolean; body: unknown }, ctx: BroadcastContext): boolean {
    const keys = parseChannel(m.body);
    const sender = m.claimed === null ? undefined : ctx.participant(m.claimed);
    if (keys === null || m.private || m.claimed === null || sender === undefined || (sender.role !== "host" && sender.role !== "cohost")) {
      this.dropped["bad-channel"]++;
      return false;
    }
    const had = this.channels.get(m.claimed);
    if (had && toHex(had.keys.key) === toHex(keys.key) && toHex(had.keys.pub) === toHex(keys.pub)) {
      had.name = sender.name;
      return true; // sent again in a new epoch: the ids seen stay
    }
    this.channels.set(m.claimed, { keys, name: sender.name, seen: new Set() });
    return true;
  }

  /** Seals a broadcast with our channel (null: nothing to send). */
  seal(self: string, text: string): { payload: Uint8Array } | null {
    const s = sealBroadcast(this.own(), this.meetingId, self, text);
    return s === null ? null : { payload: s.payload };
  }

  /** A relayed broadcast: what to show, or null (dropped, counted). */
  receive(m: { from: string; payload: Uint8Array | null; text: string | null }, ctx: BroadcastContext, self: string | null): Heard | null {
    if (m.payload === null) {
      if (ctx.e2ee) return this.drop("clear-in-e2ee");
      const t = m.text === null ? null : cleanBroadcastText(m.text);
      if (t === null) return this.drop("malformed");
      return { from: m.from, name: ctx.participant(m.from)?.name ?? "A host", text: t, encrypted: false };
    }
    if (!ctx.e2ee) return this.drop("sealed-in-clear");
    // Our own comes back too: opened with our channel, whatever the server says of it.
    const ch = m.from === self && this.ownChannel !== null ? { keys: this.ownChannel, name: "You", seen: this.ownSeen } : this.channels.get(m.from);
    if (!ch) return this.drop("unknown-sender");
    const opened = openBroadcast(ch.keys, this.meetingId, m.from, m.payload);
    if (typeof opened === "string") return this.drop(opened);
    if (ch.seen.has(opened.id)) return this.drop("replay");
    if (ch.seen.size >= SEEN_MAX) ch.seen.delete(ch.seen.values().next().value!);
    ch.seen.add(opened.id);
    return { from: m.from, name: ctx.participant(m.from)?.name ?? ch.name, text: opened.text, encrypted: true };
  }

  private drop(reason: DropReason): null {
    this.dropped[reason]++;
    return null;
  }
}

const pageChannels = new Map<string, BroadcastChannels>();

/** The page's channels for a meeting (the main room's meeting ID), the same object in every room. */
export function channelsFor(meetingId: string): BroadcastChannels {
  let c = pageChannels.get(meetingId);
  if (!c) {
    c = new BroadcastChannels(meetingId);
    pageChannels.set(meetingId, c);
  }
  return c;
}
