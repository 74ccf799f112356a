// This member's own commits (member.ts): the add and remove jobs the server
// hands out, turned into one commit of what this member agrees to; the one
// commit of ours in flight; and the server's word on it.
//
// The delivery service takes one commit per epoch (first wins) and confirms
// it by naming the epoch only, so a member keeps at most one commit of its
// own at a time. One the server neither accepts nor overtakes within
// PENDING_TIMEOUT_MS is set aside (kept in case the confirmation is only
// late) and no other is sent in its epoch.
//
// What a job may bring in is this member's decision, not the server's
// (design: "The server is the adversary"): only people the caller agrees to
// let in (mayAdd), devices of a group the server lost, or a device whose
// leaf the same commit replaces; each KeyPackage for the account its
// participant joined with, and none whose leaf key this member saw in a
// group of the meeting (a page makes a fresh one after each Welcome, so
// such a one is one the server kept); removals only of members who left,
// or who come back in the same commit with a fresh KeyPackage.
//
// GroupMember owns the group and runs every step in order; the committer
// only reads the member list it is given.

import { fromBase64, toBase64 } from "./base64.js";
import { equalBytes, toHex } from "./bytes.js";
import { E2EEError } from "./errors.js";
import type { MemberHooks } from "./member.js";
import type { MemberView } from "./member-view.js";
import type { ClientE2EEMessage, ServerE2EEMessage } from "./messages.js";
import { readKeyPackage, type Group, type PendingCommit } from "./mls.js";

/** A commit of ours the server neither accepted nor overtook in this long is dropped. */
const PENDING_TIMEOUT_MS = 15_000;

/** What the committer needs of its member. */
export interface CommitterMember {
  /** The member's hooks: send, and whom to add (mayAdd, participant). */
  readonly hooks: Pick<MemberHooks, "send" | "mayAdd" | "participant">;
  now(): number;
  /** The member list as the member last worked it out. */
  views(): readonly MemberView[];
  /** The device keys (hex) of the groups the server lost when it restarted. */
  formerDevices(): ReadonlySet<string>;
  /** The leaf signature keys (hex) of every leaf the member saw in a group of this meeting. */
  leafKeysSeen(): ReadonlySet<string>;
}

/** Why we sent a commit of our own, and what it leaves out (the `e2ee_commit` fields). */
export interface Proposal {
  reason?: "update" | "remove" | "recording";
  remove?: string[];
  skipped?: string[];
}

interface Own {
  pending: PendingCommit;
  reason?: "update" | "remove" | "recording";
  sentAt: number;
}

export class Committer {
  private own: Own | null = null;
  /** A commit of ours that timed out, kept in case the server confirms it late. */
  private expired: Own | null = null;

  constructor(private readonly member: CommitterMember) {}

  /** Our commit in flight is gone (the group was left or replaced); one that timed out is still kept. */
  drop(): void {
    this.own = null;
  }

  /** Another member's commit for this epoch verified: if ours crossed it, ours lost. */
  overtaken(): void {
    this.own = null;
    this.expired = null;
  }

  /** Sets aside a commit of ours that went nowhere for PENDING_TIMEOUT_MS. */
  expire(now: number): void {
    if (this.own && now - this.own.sentAt > PENDING_TIMEOUT_MS) {
      this.expired = this.own;
      this.own = null;
    }
  }

  /**
   * Whether a commit of ours is in flight, or timed out in this epoch: one
   * commit of ours per epoch at a time, as the server's confirmation names
   * only the epoch, so a second one could be taken for the first.
   */
  busy(epoch: bigint): boolean {
    return this.own !== null || this.expired?.pending.epoch === epoch;
  }

  /**
   * The server accepted a commit for `epoch` (the new epoch): ours, if one
   * of ours (in flight, or timed out) was made in the group's epoch before
   * it, else null. Either way none of ours is pending afterwards.
   */
  confirmed(epoch: number, groupEpoch: bigint | undefined): PendingCommit | null {
    const matches = (o: Own | null): o is Own => o !== null && BigInt(epoch) === o.pending.epoch + 1n && groupEpoch === o.pending.epoch;
    const own = matches(this.own) ? this.own : matches(this.expired) ? this.expired : null;
    this.own = null;
    this.expired = null;
    return own ? own.pending : null;
  }

  /** Sends a commit of ours and keeps it until the server says it won. */
  propose(pending: PendingCommit, extra: Proposal): void {
    const own: Own = { pending, sentAt: this.member.now() };
    this.expired = null;
    if (extra.reason) own.reason = extra.reason;
    this.own = own;
    const msg: ClientE2EEMessage = { type: "e2ee_commit", epoch: Number(pending.epoch), commit: toBase64(pending.commit) };
    if (pending.welcome) msg.welcome = toBase64(pending.welcome);
    if (extra.reason) msg.reason = extra.reason;
    if (extra.remove) msg.remove = extra.remove;
    if (extra.skipped) msg.skipped = extra.skipped;
    this.member.hooks.send(msg);
  }

  /** An add/remove job for the group's current epoch `g` (the member checked the epoch). */
  async job(j: Extract<ServerE2EEMessage, { type: "e2ee_job" }>, g: Group): Promise<void> {
    const hooks = this.member.hooks;
    const refused: string[] = [];
    for (const a of j.add) {
      if (hooks.mayAdd && !hooks.mayAdd(a.participant) && !(await this.wasInLostGroup(a.keyPackage)) && !(await this.replacesOwnLeaf(a, j.remove))) refused.push(a.participant);
    }
    if (refused.length > 0) {
      // Not ours to let in: the server gives the job to someone else, or
      // nobody adds them.
      console.warn("kaigi: e2ee: not adding", refused.join(", "));
      return;
    }
    // Each KeyPackage must be for the account the meeting says its
    // participant joined with (none for a guest): the server must not
    // hand us one person's key as another's. One that is not is skipped,
    // like a bad one, and the rest still get in.
    const additions: { participant: string; keyPackage: Uint8Array }[] = [];
    const skipped: string[] = [];
    for (const a of j.add) {
      let kp: Uint8Array;
      let account: string;
      let leafKey: Uint8Array;
      try {
        kp = fromBase64(a.keyPackage);
        ({ account, signaturePublicKey: leafKey } = await readKeyPackage(kp));
      } catch {
        skipped.push(a.participant);
        continue;
      }
      const expected = hooks.participant?.(a.participant)?.account ?? "";
      if (hooks.participant && account !== expected) {
        console.warn("kaigi: e2ee: a KeyPackage for another account than its participant's; not adding", a.participant);
        skipped.push(a.participant);
        continue;
      }
      if (this.seenBefore(leafKey, g)) {
        // A KeyPackage whose leaf was in a group of this meeting: one the
        // server kept, never a device's fresh one (a page makes a new one
        // after each Welcome). Re-adding it would bring back leaf keys the
        // device replaced since, or no longer holds.
        console.warn("kaigi: e2ee: a KeyPackage the group already had a leaf of; not adding", a.participant);
        skipped.push(a.participant);
        continue;
      }
      additions.push({ participant: a.participant, keyPackage: kp });
    }
    const skipAll = (): void => hooks.send({ type: "e2ee_commit", epoch: j.epoch, commit: "", skipped: j.add.map((a) => a.participant) });
    if (j.remove.length > 0 && skipped.length > 0) {
      // Members who are back are removed and added in one commit: if one
      // cannot be added, none of that is done now (they come back with a
      // fresh KeyPackage), so the old leaves stay rather than go alone.
      skipAll();
      return;
    }
    const readded = new Set(additions.map((a) => a.participant));
    const leaves = await this.leavesToRemove(j.remove, readded);
    if (leaves.length === 0 && additions.length === 0) {
      if (skipped.length > 0) skipAll();
      return;
    }
    let pending: PendingCommit;
    try {
      pending = await g.commitChanges(leaves, additions);
    } catch (e) {
      if (!(e instanceof E2EEError) || e.code !== "bad-key-package") throw e;
      skipAll();
      return;
    }
    skipped.push(...pending.skipped.map((x) => x.participant));
    this.propose(pending, skipped.length > 0 ? { skipped } : {});
  }

  /** Whether a leaf signature key is one of a leaf this member saw in a group of this meeting (or one the group holds now). */
  private seenBefore(leafKey: Uint8Array, g: Group): boolean {
    const hex = toHex(leafKey);
    return this.member.leafKeysSeen().has(hex) || g.members().some((m) => equalBytes(m.signaturePublicKey, leafKey));
  }

  /** Whether a KeyPackage (base64) comes from a device of a group the server lost when it restarted. */
  private async wasInLostGroup(keyPackage: string): Promise<boolean> {
    const former = this.member.formerDevices();
    if (former.size === 0) return false;
    try {
      return former.has(toHex((await readKeyPackage(fromBase64(keyPackage))).identity));
    } catch {
      return false;
    }
  }

  /**
   * Whether an Add only gives a member a fresh leaf: the job removes the
   * participant, whose leaf here (claimed by them, not in doubt) is of the
   * same device as the KeyPackage. Such a member is let in again without a
   * host's say (a page that reloaded, or fell behind when the meeting's
   * node was lost): nobody new comes in.
   */
  private async replacesOwnLeaf(a: { participant: string; keyPackage: string }, remove: readonly { participant: string }[]): Promise<boolean> {
    if (!remove.some((r) => r.participant === a.participant)) return false;
    let device: string;
    try {
      device = toHex((await readKeyPackage(fromBase64(a.keyPackage))).identity);
    } catch {
      return false;
    }
    return this.member.views().some((v) => !v.self && v.participant === a.participant && v.problem === null && toHex(v.identity) === device);
  }

  /**
   * The leaves of a job's removals: the one added with that KeyPackage
   * (each has its own leaf key), or failing that the one that claims the
   * participant. Someone still in the meeting only when the same commit
   * adds them back: the other members would refuse it otherwise.
   */
  private async leavesToRemove(remove: readonly { participant: string; keyPackage: string }[], readded: ReadonlySet<string>): Promise<number[]> {
    const leaves = new Set<number>();
    for (const r of remove) {
      if (this.member.hooks.participant?.(r.participant) && !readded.has(r.participant)) continue;
      let key: Uint8Array | null = null;
      try {
        key = (await readKeyPackage(fromBase64(r.keyPackage))).signaturePublicKey;
      } catch {
        key = null;
      }
      for (const v of this.member.views()) {
        if (v.self) continue;
        if ((key && equalBytes(v.signaturePublicKey, key)) || v.participant === r.participant) leaves.add(v.leaf);
      }
    }
    return [...leaves];
  }
}
