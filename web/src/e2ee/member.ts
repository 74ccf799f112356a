// This browser as a member of a meeting's end-to-end encryption group: the
// client side of the delivery-service messages in docs/protocol.md ("End-to-
// end encryption"). It creates the group when asked, commits the adds and
// removals the server hands it (committer.ts: its own commits), joins from a
// Welcome, applies others' commits, and after every epoch change hands the
// media keys to the worker and recomputes the security code. Application
// messages (chat, reactions, presence) ride on MLS.
//
// The server is the adversary (design: "The server is the adversary"), so
// this member decides for itself what enters the group:
//
// - It commits only what it chose: Adds for people its caller agrees to let
//   in (mayAdd), with KeyPackages for the account their participant joined
//   with; Removes of members who left (or who are back with a fresh
//   KeyPackage, removed and added in one commit); key updates. mls.ts never
//   folds in a proposal it did not make.
// - It applies others' commits only when every Add in them is attributed,
//   by the committer, to a participant who is in the meeting and holds no
//   key yet, and every Remove is of someone who left, is in doubt, or comes
//   back in the same commit (CommitPolicy); anything else is refused and
//   the person warned.
// - Once in the meeting's group, it joins another only from a Welcome
//   signed by a device that was in the group it knew.
// - Who is who: every member announces, in a presence message only its leaf
//   can sign, which participant it is; the first claim is final. The member
//   list (members()) binds each leaf to that claim and to the committer's
//   attribution, and flags a leaf that claims nothing, claims a participant
//   who is not in the meeting, claims another participant than it was added
//   as or than it first said, claims the same participant as another leaf,
//   or holds a key for another account. The UI shows those on every screen,
//   and nothing from such a leaf is shown as anyone's message.
// - It removes, on its own, the leaves of participants who left (a server
//   that never asks keeps them in otherwise), and commits a key update every
//   few minutes and when asked (role changes), for post-compromise security.
// - A private message is sealed to its addressee (private.ts); the private
//   flag and the addressee are inside the encryption, never the envelope's.
// - Application messages are padded to size buckets, so their length tells
//   the server little.
//
// All work runs one step at a time, in the order messages arrive.

import { fromBase64, toBase64 } from "./base64.js";
import { Committer } from "./committer.js";
import { E2EEError } from "./errors.js";
import type { EpochKeys } from "./media-keys.js";
import { equalBytes, toHex } from "./bytes.js";
import { createKeyPackage, Group, type CommitPolicy, type OwnKeyPackage } from "./mls.js";
import type { GroupRecording } from "./recording-state.js";
import { continuedAtAnotherEpoch, resumeProof } from "./resume.js";
import { newBoxKey, open, seal, type BoxKey } from "./private.js";
import type { MemberProblem, MemberView } from "./member-view.js";
import { padded, type AppMessage, type ClientE2EEMessage, type ServerE2EEMessage } from "./messages.js";
import { fingerprint, securityCode } from "./securitycode.js";
import type { SigningIdentity } from "./signing.js";

export type { MemberProblem, MemberView } from "./member-view.js";
export { padded, type AppMessage, type ClientE2EEMessage, type ServerE2EEMessage } from "./messages.js";

/** Something about the encryption a person must be told. */
export interface SecurityWarning {
  at: number;
  text: string;
}

/** What the meeting knows of a participant (admitted, not waiting). */
export interface RosterEntry {
  id: string;
  name: string;
  /** The account they joined with; absent for a guest. */
  account?: string;
}

export interface MemberHooks {
  send(m: ClientE2EEMessage): void;
  /**
   * Whether to add this participant when the server asks: a client commits
   * Adds only for people it has a reason to let in (see meeting/secure.ts). Absent:
   * everyone.
   */
  mayAdd?(participant: string): boolean;
  /** The meeting's admitted participant with this ID. Absent: everyone is. */
  participant?(id: string): RosterEntry | undefined;
  /** Every admitted participant (to find those who hold no key). Absent: not checked. */
  roster?(): readonly RosterEntry[];
  /** New media keys: give them to the worker. */
  keys(k: EpochKeys): void;
  /** Epoch, members, warnings or security code changed. */
  changed(): void;
  application(m: AppMessage): void;
  /** Milliseconds since the epoch (tests set it). */
  now?(): number;
  /** Random in [0, 1) (tests set it). */
  random?(): number;
}

type State = "waiting" | "member" | "removed";

/** How long a new leaf may stay silent about who it is before it is flagged. */
export const PRESENCE_GRACE_MS = 5_000;
/** How long a participant may be in the meeting without a key before it is shown as a problem. */
export const KEYLESS_GRACE_MS = 20_000;
/** How long a departed participant's leaf may stay before the first member removes it; twice that, any member does. */
export const DEPARTED_GRACE_MS = 10_000;
/** How often a member commits a key update when nothing else changed the epoch (plus up to a minute of jitter). */
export const UPDATE_INTERVAL_MS = 5 * 60_000;
/** The warnings kept for the UI. */
const WARNINGS_KEPT = 10;
/** The longest participant ID or name a presence message may claim. */
const MAX_CLAIM = 128;

interface Presence {
  participant: string;
  name: string;
  /** Its private-message key. */
  box: Uint8Array | null;
}

export class GroupMember {
  private group: Group | null = null;
  /** Our own commits: the server's jobs, the one in flight, its confirmation. */
  private readonly commits: Committer;
  private steps: Promise<void> = Promise.resolve();
  private presence = new Map<number, Presence>();
  /** The participant each leaf was added as, by its committer's word (leaves added while we watched). */
  private attributed = new Map<number, string>();
  /** When each leaf was first seen by us. */
  private seen = new Map<number, number>();
  /** When a leaf's participant was first seen gone from the meeting. */
  private goneSince = new Map<number, number>();
  /** Participants the meeting has shown us: one who leaves was real, one never shown is not. */
  private readonly known = new Set<string>();
  /** Participants in the meeting whom no leaf claims, and since when. */
  private readonly keylessSince = new Map<string, number>();
  private keylessList: string[] = [];
  /**
   * The device keys (hex) of the last group we were in, kept across a
   * reset or removal: a Welcome into any other group must come from one
   * of them.
   */
  private lastDevices = new Set<string>();
  /**
   * The device keys (hex) of the groups the server lost when it restarted:
   * people a host had let in, whom any member may add back to the fresh
   * group without a host's say.
   */
  private formerDevices = new Set<string>();
  /** Left our group because the server restarted; the fresh one is not formed yet. */
  private restarting = false;
  /**
   * The leaf signature keys (hex) of every leaf we saw in a group of this
   * meeting: a KeyPackage with one of them is one the server kept, never
   * a device's fresh one, and is not added again (committer.ts).
   */
  private readonly leafKeysSeen = new Set<string>();
  /** Leaves that changed their claim of who they are (first claim wins). */
  private readonly turncoats = new Set<number>();
  private readonly fingerprints = new Map<string, string>();
  private box: BoxKey | null = null;
  private code = "";
  private views: MemberView[] = [];
  private selfId = "";
  private selfName = "";
  private nextUpdateAt = 0;
  /** The resume proof of the epoch last entered, base64 (resume.ts). */
  private proof: { epoch: bigint; proof: string } | null = null;
  private readonly warningList: SecurityWarning[] = [];
  state: State = "waiting";

  private constructor(
    private readonly identity: SigningIdentity,
    private readonly account: string,
    private readonly groupId: Uint8Array,
    private keyPackage: OwnKeyPackage,
    private readonly hooks: MemberHooks,
  ) {
    this.commits = new Committer({ hooks, now: () => this.now(), views: () => this.views, formerDevices: () => this.formerDevices, leafKeysSeen: () => this.leafKeysSeen });
  }

  /** This device in a meeting, signed in to `account` ("" for a guest). */
  static async create(identity: SigningIdentity, meetingId: string, hooks: MemberHooks, account = ""): Promise<GroupMember> {
    const groupId = new TextEncoder().encode(`kaigi meeting ${meetingId}`);
    return new GroupMember(identity, account, groupId, await createKeyPackage(identity, account), hooks);
  }

  /** The KeyPackage for hello, base64. */
  keyPackageBase64(): string {
    return toBase64(this.keyPackage.bytes);
  }

  /** A fresh KeyPackage (for a hello after this page lost or left the group). */
  async renewKeyPackage(): Promise<string> {
    this.keyPackage = await createKeyPackage(this.identity, this.account);
    return this.keyPackageBase64();
  }

  /** Who we are in the meeting, announced to the group. */
  setSelf(participant: string, name: string): void {
    this.selfId = participant;
    this.selfName = name;
  }

  /**
   * Forgets the group: the server started us afresh (a new participant, or
   * it lost the meeting), so a create job or a Welcome into a new group
   * follows.
   */
  reset(): Promise<void> {
    return this.enqueue(async () => {
      this.group = null;
      this.commits.drop();
      this.forgetLeaves();
      this.state = "waiting";
      this.hooks.changed();
    });
  }

  /**
   * The server restarted and lost the group: we are the same participant,
   * but leave the group we hold, and the same people form a fresh one (a
   * create job for the first back, a Welcome for the others). Nothing is
   * weaker than before: a Welcome must still come from a device of our
   * last group, and Adds follow the same rules.
   */
  restarted(): Promise<void> {
    return this.enqueue(async () => {
      for (const d of this.lastDevices) this.formerDevices.add(d);
      this.restarting = true;
      this.group = null;
      this.commits.drop();
      this.forgetLeaves();
      this.state = "waiting";
      this.hooks.changed();
    });
  }

  /** The device keys (hex) of every group this member was in for the meeting. */
  knownDevices(): string[] {
    return [...new Set([...this.lastDevices, ...this.formerDevices])];
  }

  /**
   * Devices a host already let into this meeting (the main room's group,
   * when this member is a breakout room's): any member may add them
   * without a host's say, as after a restart.
   */
  trustDevices(devices: Iterable<string>): void {
    for (const d of devices) this.formerDevices.add(d);
  }

  get inGroup(): boolean {
    return this.state === "member" && this.group !== null;
  }

  /** The group's epoch, or null when not in it. */
  get epoch(): bigint | null {
    return this.inGroup ? this.group!.epoch : null;
  }

  /** The epoch and resume proof (resume.ts) for a resuming hello; null when not in the group. */
  resumeClaim(): { epoch: bigint; proof: string } | null {
    return this.inGroup && this.proof?.epoch === this.group!.epoch ? this.proof : null;
  }

  /**
   * The server says our group goes on at `epoch` (welcome's e2eeEpoch, after
   * the meeting's node was lost): we keep our group either way, and warn if
   * that is not the epoch we are at.
   */
  continued(epoch: number): Promise<void> {
    return this.enqueue(async () => {
      const text = continuedAtAnotherEpoch(epoch, this.epoch);
      if (text !== null) this.warn(text);
    });
  }

  /** The security code of the current epoch ("" when not in the group). */
  get securityCode(): string {
    return this.inGroup ? this.code : "";
  }

  members(): MemberView[] {
    return this.views;
  }

  /**
   * Participants in the meeting who have held no key for KEYLESS_GRACE_MS:
   * they cannot hear the meeting, and nothing they send can be shown as
   * theirs (the roster may show someone the group does not have).
   */
  keyless(): readonly string[] {
    return this.inGroup ? this.keylessList : [];
  }

  /** What went wrong, newest last (kept for the UI). */
  warnings(): readonly SecurityWarning[] {
    return this.warningList;
  }

  /** Handles one E2EE message from the server, after those before it. */
  handle(m: ServerE2EEMessage): Promise<void> {
    return this.enqueue(() => this.step(m));
  }

  /** Resolves when everything received so far has been handled. */
  settled(): Promise<void> {
    return this.steps;
  }

  /**
   * Sends an application message to the group, or sealed to one
   * participant (who must be a member that announced its key).
   */
  sendApplication(kind: string, body: unknown, to?: string): Promise<void> {
    const step = this.steps.then(async () => {
      if (!this.inGroup) throw new E2EEError("bad-request", "not in the encrypted group yet");
      const g = this.group!;
      let inner: unknown = { kind, body };
      if (to !== undefined) {
        const target = this.views.filter((v) => v.participant === to && !v.self && v.problem === null);
        const p = target.length === 1 ? this.presence.get(target[0]!.leaf) : undefined;
        if (!p?.box) throw new E2EEError("bad-request", "that participant cannot receive private messages (yet)");
        const leaf = target[0]!.leaf;
        const sealed = await seal(p.box, { groupId: g.groupId, epoch: g.epoch, senderLeaf: g.ownLeafIndex, recipientLeaf: leaf }, new TextEncoder().encode(JSON.stringify({ kind, body, to })));
        inner = { kind, sealed: { leaf, enc: toBase64(sealed.enc), ct: toBase64(sealed.ct) } };
      }
      const data = await g.encrypt(padded(JSON.stringify(inner)));
      const msg: ClientE2EEMessage = { type: "e2ee_message", epoch: Number(g.epoch), kind, data: toBase64(data) };
      if (to !== undefined) msg.to = to;
      this.hooks.send(msg);
    });
    this.steps = step.catch(() => undefined);
    return step;
  }

  /** Who records, as the group agreed (recording-state.ts); null when nobody does or we are not in the group. */
  recording(): GroupRecording | null {
    return this.inGroup ? this.group!.recording() : null;
  }

  /**
   * Commits that this member records `id` (null: that it stopped), if no
   * commit of ours is in flight: resolves true when sent. It counts once
   * the server accepted it and recording() says so.
   */
  commitRecording(id: string | null): Promise<boolean> {
    let sent = false;
    return this.enqueue(async () => {
      if (!this.inGroup || this.commits.busy(this.group!.epoch)) return;
      this.commits.propose(await this.group!.commitRecording(id === null ? null : { id, since: this.now() }), { reason: "recording" });
      sent = true;
    }).then(() => sent);
  }

  /** Asks for a key update soon (after a role change), unless one is already due sooner. */
  requestUpdate(): void {
    const soon = this.now() + 1_000 + this.random() * 3_000;
    if (this.nextUpdateAt === 0 || soon < this.nextUpdateAt) this.nextUpdateAt = soon;
  }

  /**
   * Periodic upkeep (meeting/secure.ts calls it every few seconds): drops a commit
   * of ours that went nowhere, removes departed members' leaves, commits a
   * key update when one is due, and re-judges silent leaves.
   */
  maintain(): Promise<void> {
    return this.enqueue(async () => {
      if (!this.inGroup) return;
      const now = this.now();
      this.commits.expire(now);
      const before = this.views.map((v) => v.problem);
      const keylessBefore = this.keylessList.join(" ");
      await this.refresh();
      this.checkKeyless(now);
      if (this.views.some((v, i) => v.problem !== before[i]) || this.keylessList.join(" ") !== keylessBefore) this.hooks.changed();
      // One commit of ours per epoch at a time: the server's confirmation
      // names only the epoch, so a second one could be taken for the first.
      if (this.commits.busy(this.group!.epoch)) return;
      const departed = this.departedLeaves(now);
      if (departed.length > 0) {
        const pending = await this.group!.commitRemove(departed.map((d) => d.leaf));
        this.commits.propose(pending, { reason: "remove", remove: departed.map((d) => d.participant) });
        return;
      }
      if (now >= this.nextUpdateAt) this.commits.propose(await this.group!.commitUpdate(), { reason: "update" });
    });
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const step = this.steps.then(fn);
    this.steps = step.catch((e: unknown) => console.error("kaigi: e2ee:", e));
    return step;
  }

  private now(): number {
    return this.hooks.now?.() ?? Date.now();
  }

  private random(): number {
    return this.hooks.random?.() ?? Math.random();
  }

  private warn(text: string): void {
    this.warningList.push({ at: this.now(), text });
    if (this.warningList.length > WARNINGS_KEPT) this.warningList.shift();
    console.warn("kaigi: e2ee:", text);
    this.hooks.changed();
  }

  private async step(m: ServerE2EEMessage): Promise<void> {
    switch (m.type) {
      case "e2ee_job":
        return this.job(m);
      case "e2ee_commit_ok":
        return this.committed(m.epoch);
      case "e2ee_commit":
        return this.othersCommit(m.commit, m.reason ?? "");
      case "e2ee_welcome":
        return this.welcome(m.welcome);
      case "e2ee_message":
        return this.message(m);
    }
  }

  private async job(j: Extract<ServerE2EEMessage, { type: "e2ee_job" }>): Promise<void> {
    if (j.create) {
      if (this.inGroup) {
        // Creating a new group would silently drop everyone in this one.
        this.warn("The server asked this browser to start a new encrypted group while it is in one; refused.");
        return;
      }
      if (this.lastDevices.size > 0 && !this.restarting) this.warn("This browser started a new encrypted group for the meeting (the server lost the old one): compare the security code once more.");
      this.restarting = false;
      this.group = await Group.create(this.keyPackage, this.groupId);
      this.box = null;
      this.forgetLeaves();
      this.state = "member";
      await this.epochChanged(true);
      return;
    }
    const g = this.group;
    if (!this.inGroup || !g || BigInt(j.epoch) !== g.epoch) return; // the server reassigns it
    await this.commits.job(j, g);
  }

  private async committed(epoch: number): Promise<void> {
    const ours = this.commits.confirmed(epoch, this.group?.epoch);
    if (!ours || !this.group) return;
    await this.group.applyCommit(ours);
    // We added them: we know whom each leaf is for (matched by leaf key, as
    // a new leaf may take a removed one's index).
    let added = false;
    for (const m of this.group.members()) {
      const i = ours.addedKeys.findIndex((k) => equalBytes(k, m.signaturePublicKey));
      if (i < 0) continue;
      this.forgetLeaf(m.leafIndex);
      this.attributed.set(m.leafIndex, ours.added[i]!);
      added = true;
    }
    await this.epochChanged(added);
  }

  private policy(): CommitPolicy {
    return {
      add: (participant, credential, removing) => {
        const entry = this.hooks.participant?.(participant);
        if (this.hooks.participant && !entry) return `an Add for ${participant}, who is not in the meeting`;
        if (entry && (entry.account ?? "") !== credential.account) return `an Add of a key for another account than ${participant}'s`;
        if (participant === this.selfId) return "an Add of another key for this very participant";
        // A leaf holds a participant's key if its committer added it as them,
        // or (added before we came) it claims them and nothing is wrong with it.
        const holders = this.views.filter((v) => {
          if (removing.includes(v.leaf)) return false;
          const a = this.attributed.get(v.leaf);
          return a !== undefined && a !== "" ? a === participant : v.participant === participant && v.problem === null;
        });
        if (holders.length > 0) return `an Add for ${participant}, who already holds a key`;
        return null;
      },
      remove: (leaf, readded) => {
        // Removing a leaf nobody can vouch for, or whose person left, is
        // what members should do; removing someone still here is not,
        // unless the same commit brings them back (a fresh KeyPackage).
        const v = this.views.find((x) => x.leaf === leaf);
        if (!v || !this.hooks.participant || v.problem !== null) return null;
        const a = this.attributed.get(leaf);
        const who = a !== undefined && a !== "" ? a : v.participant;
        if (who === null || !this.hooks.participant(who) || readded.includes(who)) return null;
        return v.self ? "a commit that removes this browser while it is in the meeting" : `a commit that removes ${who}, who is still in the meeting`;
      },
    };
  }

  private async othersCommit(commit: string, reason: string): Promise<void> {
    if (!this.inGroup || !this.group) return;
    let r;
    try {
      r = await this.group.receive(fromBase64(commit), this.policy(), reason);
    } catch (e) {
      if (e instanceof E2EEError && e.code === "refused") {
        this.warn(`A change to the encrypted group was refused (${e.message}). Until it is resolved this browser may not receive the meeting's new keys.`);
        return;
      }
      throw e;
    }
    if (r.kind !== "commit") return;
    // Another member's commit for this epoch verified: if ours crossed it, ours lost.
    this.commits.overtaken();
    // A leaf index can be reused by an Add: what we knew of the old leaf goes.
    for (const a of r.added) this.forgetLeaf(a.leafIndex);
    if (r.removed) {
      this.state = "removed";
      this.forgetLeaves();
      this.hooks.changed();
      return;
    }
    for (const a of r.added) this.attributed.set(a.leafIndex, a.participant);
    await this.epochChanged(r.added.length > 0);
  }

  private async welcome(w: string): Promise<void> {
    let joined: Group;
    try {
      joined = await Group.join(fromBase64(w), this.keyPackage, this.groupId);
    } catch (e) {
      this.warn(`Could not join the encrypted group from what the server sent (${e instanceof Error ? e.message : String(e)}).`);
      return;
    }
    const current = this.inGroup ? this.group : null;
    if (current && joined.epoch <= current.epoch) {
      // A member is moved to another group only forward in time (a re-add
      // after it fell too far behind); anything else is the server trying
      // to swap our group for one it runs.
      this.warn("The server tried to move this browser into another encrypted group; refused.");
      return;
    }
    // Once in this meeting's group, only a device that was in it may bring
    // us into a group again: the server cannot sign as one.
    const signer = joined.members().find((x) => x.leafIndex === joined.welcomedBy);
    const signerDevice = signer ? toHex(signer.identity) : "";
    if (this.lastDevices.size > 0 && !this.lastDevices.has(signerDevice)) {
      this.warn(`A Welcome into an encrypted group came from a device that was not in this meeting's group (key ${signer ? await fingerprint(signer.identity) : "unknown"}); refused. Reload the page to join afresh.`);
      return;
    }
    if (this.lastDevices.size > 0 && !current && !this.restarting) {
      this.warn("This browser joined the meeting's encrypted group again, after leaving it: compare the security code once more.");
    }
    this.restarting = false;
    this.group = joined;
    this.commits.drop();
    this.box = null;
    this.forgetLeaves();
    this.state = "member";
    await this.epochChanged(true);
  }

  private async message(m: Extract<ServerE2EEMessage, { type: "e2ee_message" }>): Promise<void> {
    if (!this.inGroup || !this.group) return;
    const g = this.group;
    let r;
    try {
      r = await g.receive(fromBase64(m.data), this.policy());
    } catch (e) {
      if (e instanceof E2EEError && e.code === "refused") {
        this.warn(`Refused a change to the encrypted group that came as a message (${e.message}): nobody was let in by it.`);
        return;
      }
      console.warn("kaigi: e2ee: dropped a message that does not verify:", e);
      return;
    }
    if (r.kind !== "application") return;
    let parsed: { kind?: unknown; body?: unknown; sealed?: unknown };
    try {
      parsed = JSON.parse(new TextDecoder().decode(r.data)) as typeof parsed;
    } catch {
      return;
    }
    // The kind that counts is the one inside the encryption, not the
    // envelope's (which the server reads, and could change).
    if (typeof parsed.kind !== "string" || parsed.kind !== m.kind) return;
    const leaf = r.sender.leafIndex;
    let body = parsed.body;
    let isPrivate = false;
    if (parsed.sealed !== undefined) {
      const opened = await this.openSealed(parsed.sealed, parsed.kind, leaf, r.epoch);
      if (opened === null) return;
      body = opened;
      isPrivate = true;
    }
    if (parsed.kind === "presence") {
      if (isPrivate) return;
      const b = body as { participant?: unknown; name?: unknown; box?: unknown };
      if (typeof b?.participant === "string" && typeof b.name === "string" && b.participant.length > 0 && b.participant.length <= MAX_CLAIM) {
        let box: Uint8Array | null = null;
        try {
          box = typeof b.box === "string" ? fromBase64(b.box) : null;
        } catch {
          box = null;
        }
        const had = this.presence.get(leaf);
        if (had && had.participant !== b.participant) {
          // First claim wins: a leaf that says it is someone else now is
          // trying to pass its messages off as theirs.
          this.turncoats.add(leaf);
          this.warn(`A key holder that said it was ${had.participant} now says it is ${b.participant}; its messages are not shown.`);
          await this.refresh();
          return;
        }
        this.presence.set(leaf, { participant: b.participant, name: b.name.slice(0, MAX_CLAIM), box });
        await this.refresh();
        this.hooks.changed();
      }
      return;
    }
    // Messages from a leaf whose identity is in doubt are not shown under anyone's name.
    const sender = this.views.find((v) => v.leaf === leaf);
    if (!sender || sender.problem !== null) {
      console.warn("kaigi: e2ee: dropped a message from a member whose identity is in doubt");
      return;
    }
    this.hooks.application({
      from: m.from,
      leaf,
      claimed: this.presence.get(leaf)?.participant ?? null,
      kind: parsed.kind,
      body,
      private: isPrivate,
    });
  }

  /** Opens a box sealed to us; null (and a log line) for one that is not ours or does not open. */
  private async openSealed(v: unknown, kind: string, senderLeaf: number, epoch: bigint): Promise<unknown> {
    const g = this.group!;
    const s = v as { leaf?: unknown; enc?: unknown; ct?: unknown };
    if (typeof s?.leaf !== "number" || typeof s.enc !== "string" || typeof s.ct !== "string") return null;
    if (s.leaf !== g.ownLeafIndex || !this.box) {
      // Sealed to someone else: the server sent us another member's private message.
      console.warn("kaigi: e2ee: dropped a private message meant for another member");
      return null;
    }
    let inner: { kind?: unknown; body?: unknown; to?: unknown };
    try {
      const bytes = await open(this.box, { groupId: g.groupId, epoch, senderLeaf, recipientLeaf: g.ownLeafIndex }, { enc: fromBase64(s.enc), ct: fromBase64(s.ct) });
      inner = JSON.parse(new TextDecoder().decode(bytes)) as typeof inner;
    } catch (e) {
      console.warn("kaigi: e2ee: dropped a private message that does not open:", e);
      return null;
    }
    if (inner.kind !== kind || inner.to !== this.selfId) return null;
    return inner.body;
  }

  private checkKeyless(now: number): void {
    const roster = this.hooks.roster?.() ?? [];
    const holders = new Set<string>();
    for (const v of this.views) {
      const a = this.attributed.get(v.leaf);
      if (a) holders.add(a);
      else if (v.participant !== null && v.problem === null) holders.add(v.participant);
    }
    const present = new Set<string>();
    for (const p of roster) {
      if (p.id === this.selfId || holders.has(p.id)) continue;
      present.add(p.id);
      if (!this.keylessSince.has(p.id)) this.keylessSince.set(p.id, now);
    }
    for (const id of [...this.keylessSince.keys()]) if (!present.has(id)) this.keylessSince.delete(id);
    this.keylessList = [...this.keylessSince].filter(([, since]) => now - since >= KEYLESS_GRACE_MS).map(([id]) => id);
  }

  private forgetLeaves(): void {
    this.presence.clear();
    this.attributed.clear();
    this.seen.clear();
    this.goneSince.clear();
    this.turncoats.clear();
  }

  private forgetLeaf(leaf: number): void {
    for (const map of [this.presence, this.attributed, this.seen, this.goneSince]) map.delete(leaf);
    this.turncoats.delete(leaf);
  }

  /** Leaves whose participant left the meeting, which it is our turn to remove. */
  private departedLeaves(now: number): { leaf: number; participant: string }[] {
    if (!this.hooks.participant) return [];
    const lookup = this.hooks.participant;
    const out: { leaf: number; participant: string }[] = [];
    const staying: number[] = [];
    for (const v of this.views) {
      const who = v.participant ?? this.attributed.get(v.leaf) ?? null;
      if (v.self || who === null || lookup(who)) {
        this.goneSince.delete(v.leaf);
        staying.push(v.leaf);
        continue;
      }
      const since = this.goneSince.get(v.leaf) ?? now;
      this.goneSince.set(v.leaf, since);
      // The member with the lowest leaf goes first; if it does not, anyone.
      const first = Math.min(...this.views.filter((x) => x.participant !== null && lookup(x.participant)).map((x) => x.leaf));
      const turn = first === this.group!.ownLeafIndex ? DEPARTED_GRACE_MS : 2 * DEPARTED_GRACE_MS;
      if (now - since >= turn) out.push({ leaf: v.leaf, participant: who });
    }
    return out;
  }

  /**
   * After every epoch change: new media keys, a new security code and
   * member list; and when members were added, our presence again (the new
   * ones cannot read earlier epochs).
   */
  private async epochChanged(added: boolean): Promise<void> {
    const g = this.group!;
    const now = this.now();
    this.nextUpdateAt = now + UPDATE_INTERVAL_MS + this.random() * 60_000;
    this.hooks.keys(await g.mediaKeys());
    this.code = await securityCode(g.epochAuthenticator);
    this.proof = { epoch: g.epoch, proof: toBase64(await resumeProof(g)) };
    const leaves = new Set(g.members().map((m) => m.leafIndex));
    for (const map of [this.presence, this.attributed, this.seen, this.goneSince]) {
      for (const leaf of [...map.keys()]) if (!leaves.has(leaf)) map.delete(leaf);
    }
    for (const leaf of leaves) if (!this.seen.has(leaf)) this.seen.set(leaf, now);
    for (const leaf of [...this.turncoats]) if (!leaves.has(leaf)) this.turncoats.delete(leaf);
    this.lastDevices = new Set(g.members().map((m) => toHex(m.identity)));
    this.box ??= await newBoxKey();
    this.presence.set(g.ownLeafIndex, { participant: this.selfId, name: this.selfName, box: this.box.publicKey });
    await this.refresh();
    this.hooks.changed();
    if (added && this.selfId) {
      const body = { participant: this.selfId, name: this.selfName, box: toBase64(this.box.publicKey) };
      const data = await g.encrypt(padded(JSON.stringify({ kind: "presence", body })));
      this.hooks.send({ type: "e2ee_message", epoch: Number(g.epoch), kind: "presence", data: toBase64(data) });
    }
  }

  /** A device's fingerprint, worked out once per device (refresh runs every few seconds). */
  private async fingerprintOf(device: Uint8Array): Promise<string> {
    const key = toHex(device);
    let fp = this.fingerprints.get(key);
    if (fp === undefined) {
      fp = await fingerprint(device);
      this.fingerprints.set(key, fp);
    }
    return fp;
  }

  private async refresh(): Promise<void> {
    const g = this.group;
    if (!g) {
      this.views = [];
      return;
    }
    const now = this.now();
    const claims = new Map<string, number>();
    for (const p of this.presence.values()) claims.set(p.participant, (claims.get(p.participant) ?? 0) + 1);
    const views: MemberView[] = [];
    for (const m of g.members()) {
      this.leafKeysSeen.add(toHex(m.signaturePublicKey));
      const p = this.presence.get(m.leafIndex);
      const self = m.leafIndex === g.ownLeafIndex;
      const conflict = p ? (claims.get(p.participant) ?? 0) > 1 : false;
      const added = this.attributed.get(m.leafIndex);
      const young = now - (this.seen.get(m.leafIndex) ?? now) < PRESENCE_GRACE_MS;
      let problem: MemberProblem | null = null;
      const entry = p ? this.hooks.participant?.(p.participant) : undefined;
      if (conflict || this.turncoats.has(m.leafIndex)) problem = "conflict";
      else if (entry && (entry.account ?? "") !== m.account) problem = "account";
      else if (p && added !== undefined && added !== "" && added !== p.participant) problem = "mismatch";
      else if (p && !self && this.hooks.participant) {
        if (this.hooks.participant(p.participant)) {
          this.known.add(p.participant);
          this.goneSince.delete(m.leafIndex);
        } else {
          // Someone who left is removed within DEPARTED_GRACE_MS; a leaf
          // that claims someone the meeting never had, or stays long after
          // its person left, is a problem.
          const since = this.goneSince.get(m.leafIndex) ?? now;
          this.goneSince.set(m.leafIndex, since);
          if (!this.known.has(p.participant) || now - since > 3 * DEPARTED_GRACE_MS) problem = "absent";
        }
      } else if (!p && !young) problem = "unclaimed";
      views.push({
        leaf: m.leafIndex,
        fingerprint: await this.fingerprintOf(m.identity),
        identity: m.identity,
        account: m.account,
        signaturePublicKey: m.signaturePublicKey,
        participant: p?.participant ?? null,
        name: p?.name ?? null,
        self,
        conflict,
        problem,
        joining: !p && young,
      });
    }
    this.views = views;
  }
}
