// What a Kaigi member accepts in another member's commit (design: "The
// server is the adversary"): only Adds and Removes, by value, from a
// current member, and each Add attributed in the commit's authenticated
// data to a participant the caller's CommitPolicy accepts; and at most one
// GroupContextExtensions proposal, which may only change the recording
// state as recording-state.ts allows. A commit the server relays as made
// for the reason "recording" (which it takes beyond the bound on key
// updates from the recorder alone, a few times a recording) must be
// exactly that: one GroupContextExtensions proposal that changes the
// recording state, and nothing else; otherwise a member could pass
// ordinary updates, or Adds and Removes, off as recording commits. mls.ts
// applies these rules to every commit it receives, and writes the
// attribution into every commit it makes.

import type { Extension, KeyPackage, Proposal } from "ts-mls";
import { parseCredential, type LeafCredential } from "./credential.js";
import { recordingChanges, recordingRefusal, type LeafKey } from "./recording-state.js";

/**
 * What the caller accepts in others' commits. `add` says why an Add of
 * `participant` (as the committer attributed it; `credential` is what the
 * KeyPackage's leaf says it is) must be refused, or null to accept it.
 */
export interface CommitPolicy {
  /** `removing`: the leaves the same commit removes. */
  add(participant: string, credential: LeafCredential, removing: readonly number[]): string | null;
  /**
   * Why a Remove of this leaf must be refused, or null to accept it;
   * `readded` are the participants the same commit adds.
   */
  remove?(leaf: number, readded: readonly string[]): string | null;
}

/**
 * What a commit's authenticated data says (JSON, UTF-8): the participant
 * each Add is for, in the order of the Adds. It travels in clear (the
 * server may read it: it knows whom it asked to add), and the committer's
 * signature and the AEAD (private messages) or membership tag (public
 * ones) cover it, so the server cannot change it.
 */
export interface CommitInfo {
  v: 1;
  add: string[];
}

export const MAX_PARTICIPANT_ID = 128;

export function encodeCommitInfo(add: readonly string[]): Uint8Array {
  const info: CommitInfo = { v: 1, add: [...add] };
  return new TextEncoder().encode(JSON.stringify(info));
}

export function decodeCommitInfo(ad: Uint8Array): CommitInfo | null {
  if (ad.length === 0) return { v: 1, add: [] };
  try {
    const o = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(ad)) as Partial<CommitInfo>;
    if (o.v !== 1 || !Array.isArray(o.add)) return null;
    if (!o.add.every((p) => typeof p === "string" && p.length > 0 && p.length <= MAX_PARTICIPANT_ID)) return null;
    return { v: 1, add: o.add };
  } catch {
    return null;
  }
}

/**
 * Why a commit must be refused, or null: the rules of the file comment.
 * `proposals` are all the commit's proposals, resolved; `reason` is the
 * one the server relayed the commit with ("" for a job's).
 */
export function commitRefusal(
  sender: number | undefined,
  proposals: readonly { proposal: Proposal; senderLeafIndex: number | undefined }[],
  info: CommitInfo | null,
  policy: CommitPolicy | undefined,
  group?: { extensions: readonly Extension[]; members: readonly LeafKey[] },
  reason = "",
): string | null {
  if (sender === undefined) return "a commit from outside the group (external commit)";
  const adds: KeyPackage[] = [];
  const removes: number[] = [];
  const contexts: Extension[][] = [];
  for (const p of proposals) {
    if (p.senderLeafIndex !== sender) return "a commit that carries another member's proposal";
    switch (p.proposal.proposalType) {
      case "add":
        adds.push(p.proposal.add.keyPackage);
        break;
      case "remove":
        removes.push(p.proposal.remove.removed);
        break;
      case "group_context_extensions":
        contexts.push(p.proposal.groupContextExtensions.extensions);
        break;
      default:
        return `a commit with a ${String(p.proposal.proposalType)} proposal`;
    }
  }
  if (contexts.length > 1) return "a commit with two GroupContextExtensions proposals";
  if (reason === "recording") {
    if (contexts.length !== 1 || adds.length > 0 || removes.length > 0) return "a commit sent as a recording commit that does more, or other, than change the recording state";
    if (group && !recordingChanges(group.extensions, contexts[0]!)) return "a commit sent as a recording commit that leaves the recording state as it was";
  }
  if (contexts.length === 1) {
    if (!group) return "a commit that changes the group context";
    const why = recordingRefusal(sender, group.extensions, contexts[0]!, group.members.filter((m) => !removes.includes(m.leafIndex)));
    if (why !== null) return why;
  }
  if (info === null) return "a commit whose authenticated data is not Kaigi's";
  if (info.add.length !== adds.length) return "an Add its committer did not attribute to a participant";
  if (new Set(info.add).size !== info.add.length) return "two Adds attributed to one participant";
  for (let i = 0; i < adds.length; i++) {
    const cred = adds[i]!.leafNode.credential;
    const c = cred.credentialType === "basic" ? parseCredential(cred.identity) : null;
    if (c === null) return "an Add without a device certificate";
    const why = policy?.add(info.add[i]!, c, removes) ?? null;
    if (why !== null) return why;
  }
  for (const leaf of removes) {
    const why = policy?.remove?.(leaf, info.add) ?? null;
    if (why !== null) return why;
  }
  return null;
}
