// The meeting's recording state inside the MLS group (docs/security.md,
// "Who records and who is told"): a group context extension of Kaigi's
// that says whether a member records, which recording, which leaf (and
// that leaf's signature key) and since when (the recorder's clock).
//
// Why in the group context: it is part of every epoch's key schedule, so
// every member that can decrypt an epoch's media agrees on it; the server
// cannot show it to some members and hide it from others without cutting
// those off the group (they would miss the commit, and with it every later
// epoch's keys). A joiner reads it from the GroupInfo in its Welcome, which
// the adding member signed and whose group context the joiner's key
// schedule checks.
//
// A recorder's browser sets it with a commit of one GroupContextExtensions
// proposal before it starts its MediaRecorder, and clears it after it
// stops. What members accept (recordingRefusal), since the MLS group does
// not know roles (the server checks those):
// - turning recording on, or changing it, must name the committer's own
//   leaf and key as the recorder: nobody can say someone else records;
// - while a member records, only that member may clear or change the
//   state, unless the recorder's leaf has left the group (or leaves in
//   the same commit);
// - the proposal carries exactly this one extension: Kaigi sets no other;
// - a commit the server relays with the reason "recording" (its own bound,
//   apart from key updates: internal/e2ee ReasonRecording) carries this
//   proposal alone and changes who records (recordingChanges,
//   commit-rules.ts).
//
// ts-mls 1.6.4 keeps the old group context extensions when a commit's
// GroupContextExtensions list is empty, so "not recording" is the
// extension with `on: false`, never its absence (a group that never
// recorded has no extension, which means the same).

import type { Extension } from "ts-mls";
import { equalBytes, fromHex, toHex } from "./bytes.js";

/** Kaigi's extension type, from the private-use range (RFC 9420 §17.3: 0xF000–0xFFFF). */
export const RECORDING_EXTENSION = 0xf0c1;
/** The longest recording ID the state may carry. */
export const MAX_RECORDING_ID = 64;

/** A member records: which recording, from which leaf (with its signature key), since when. */
export interface GroupRecording {
  id: string;
  leaf: number;
  /** The recorder leaf's signature key: a leaf index reused by a later Add is another member. */
  key: Uint8Array;
  /** Milliseconds since the epoch, by the recorder's clock (shown, never trusted for anything). */
  since: number;
}

/** A leaf of the group and its signature key. */
export interface LeafKey {
  leafIndex: number;
  signaturePublicKey: Uint8Array;
}

/** The extension that says `r` records, or (null) that nobody does. */
export function recordingExtension(r: GroupRecording | null): Extension {
  const body = r === null ? { v: 1, on: false } : { v: 1, on: true, id: r.id, leaf: r.leaf, key: toHex(r.key), since: r.since };
  return { extensionType: RECORDING_EXTENSION, extensionData: new TextEncoder().encode(JSON.stringify(body)) };
}

function isRecording(e: Extension): boolean {
  return e.extensionType === RECORDING_EXTENSION;
}

/** Reads one extension's data: the state, null for "nobody records", undefined when it is not Kaigi's format. */
function parse(data: Uint8Array): GroupRecording | null | undefined {
  let o: { v?: unknown; on?: unknown; id?: unknown; leaf?: unknown; key?: unknown; since?: unknown };
  try {
    o = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data)) as typeof o;
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null || o.v !== 1) return undefined;
  if (o.on === false) return null;
  if (o.on !== true) return undefined;
  if (typeof o.id !== "string" || o.id.length === 0 || o.id.length > MAX_RECORDING_ID || !/^[A-Za-z0-9_-]+$/.test(o.id)) return undefined;
  if (typeof o.leaf !== "number" || !Number.isSafeInteger(o.leaf) || o.leaf < 0) return undefined;
  if (typeof o.key !== "string" || !/^[0-9a-f]{64}$/.test(o.key)) return undefined;
  if (typeof o.since !== "number" || !Number.isFinite(o.since)) return undefined;
  return { id: o.id, leaf: o.leaf, key: fromHex(o.key), since: o.since };
}

/**
 * The recording state in a group context's extensions: null when nobody
 * records (or the group never recorded), undefined when the extension is
 * there twice or not in Kaigi's format.
 */
export function readRecording(extensions: readonly Extension[]): GroupRecording | null | undefined {
  const found = extensions.filter(isRecording);
  if (found.length === 0) return null;
  if (found.length > 1) return undefined;
  return parse(found[0]!.extensionData);
}

/** Whether the member a recording state names is still that leaf of the group. */
export function recorderPresent(r: GroupRecording, members: readonly LeafKey[]): boolean {
  return members.some((m) => m.leafIndex === r.leaf && equalBytes(m.signaturePublicKey, r.key));
}

/**
 * Whether `proposed` says something else than `before` about who records
 * which recording (on or off, recording, leaf, key; `since` aside): what
 * a commit relayed as a recording commit must do (commit-rules.ts). A
 * proposal not in Kaigi's format counts as a change (and is refused by
 * recordingRefusal).
 */
export function recordingChanges(before: readonly Extension[], proposed: readonly Extension[]): boolean {
  const was = readRecording(before);
  const next = readRecording(proposed);
  if (was === undefined || next === undefined) return true;
  if (was === null || next === null) return was !== next;
  return was.id !== next.id || was.leaf !== next.leaf || !equalBytes(was.key, next.key);
}

/**
 * Why members refuse a commit's GroupContextExtensions proposal, or null:
 * the rules of the file comment. `before`: the group context's extensions
 * now; `members`: the group's leaves once the commit's Removes are applied.
 */
export function recordingRefusal(committer: number, before: readonly Extension[], proposed: readonly Extension[], members: readonly LeafKey[]): string | null {
  if (proposed.length !== 1 || !isRecording(proposed[0]!)) return "a change of the group context other than the recording state";
  if (before.some((e) => !isRecording(e))) return "a change of a group context that holds more than the recording state";
  const was = readRecording(before);
  const next = parse(proposed[0]!.extensionData);
  if (next === undefined) return "a recording state not in Kaigi's format";
  const self = members.find((m) => m.leafIndex === committer);
  if (!self) return "a recording state from a member that is not in the group";
  // The recorder of the state now (if it is still in the group) alone may change or clear it.
  if (was && recorderPresent(was, members) && was.leaf !== committer) return "a change of the recording state by another member than the one recording";
  if (next !== null && (next.leaf !== committer || !equalBytes(next.key, self.signaturePublicKey))) {
    return "a recording state that names another member than its committer as the recorder";
  }
  return null;
}
