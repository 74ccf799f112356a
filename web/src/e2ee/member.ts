// This browser as a member of a meeting's end-to-end encryption group: the
// client side of the delivery-service messages in docs/protocol.md ("End-to-
// end encryption"). It creates the group when asked, commits the adds and
// removals the server hands it, joins from a Welcome, applies others'
// commits, and after every epoch change hands the media keys to the worker
// and recomputes the security code. Application messages (chat, reactions,
// presence) ride on MLS.
//
// Who is who: the server says which participant each message comes from,
// but it could lie. So every member announces, in an MLS message only it
// can sign, which participant it is ("presence"); the member list binds
// each leaf (and its key fingerprint) to the participant it claims to be,
// and flags leaves that claim nothing, or the same participant as another.
//
// All work runs one step at a time, in the order messages arrive.

import { fromBase64, toBase64 } from "./base64.js";
import { equalBytes } from "./bytes.js";
import { E2EEError } from "./errors.js";
import type { EpochKeys } from "./media-keys.js";
import { createKeyPackage, Group, readKeyPackage, type OwnKeyPackage, type PendingCommit } from "./mls.js";
import { fingerprint, securityCode } from "./securitycode.js";
import type { SigningIdentity } from "./signing.js";

/** Server → client E2EE messages (bytes as base64). */
export type ServerE2EEMessage =
  | {
      type: "e2ee_job";
      create: boolean;
      epoch: number;
      add: { participant: string; keyPackage: string }[];
      remove: { participant: string; keyPackage: string }[];
    }
  | { type: "e2ee_commit"; epoch: number; from: string; commit: string }
  | { type: "e2ee_commit_ok"; epoch: number }
  | { type: "e2ee_welcome"; epoch: number; welcome: string }
  | { type: "e2ee_message"; from: string; epoch: number; kind: string; data: string; private: boolean };

/** Client → server E2EE messages. */
export type ClientE2EEMessage =
  | { type: "e2ee_commit"; epoch: number; commit: string; welcome?: string }
  | { type: "e2ee_message"; epoch: number; kind: string; data: string; to?: string };

/** An application message received and verified. */
export interface AppMessage {
  /** The participant the server says sent it. */
  from: string;
  /** The MLS leaf that really sent it, and what that leaf announced it is. */
  leaf: number;
  claimed: string | null;
  kind: string;
  body: unknown;
  private: boolean;
}

/** A member of the group as the UI shows it. */
export interface MemberView {
  leaf: number;
  fingerprint: string;
  signaturePublicKey: Uint8Array;
  /** The participant this leaf announced it is; null until it does. */
  participant: string | null;
  name: string | null;
  self: boolean;
  /** Another leaf claims the same participant: something is wrong. */
  conflict: boolean;
}

export interface MemberHooks {
  send(m: ClientE2EEMessage): void;
  /**
   * Whether to add this participant when the server asks: a client commits
   * Adds only for people it has a reason to let in (see secure.ts). Absent:
   * everyone.
   */
  mayAdd?(participant: string): boolean;
  /** New media keys: give them to the worker. */
  keys(k: EpochKeys): void;
  /** Epoch, members or security code changed. */
  changed(): void;
  application(m: AppMessage): void;
}

type State = "waiting" | "member" | "removed";

export class GroupMember {
  private group: Group | null = null;
  private pending: PendingCommit | null = null;
  private steps: Promise<void> = Promise.resolve();
  private presence = new Map<number, { participant: string; name: string }>();
  private code = "";
  private views: MemberView[] = [];
  private selfId = "";
  private selfName = "";
  state: State = "waiting";

  private constructor(
    private readonly identity: SigningIdentity,
    private readonly groupId: Uint8Array,
    private keyPackage: OwnKeyPackage,
    private readonly hooks: MemberHooks,
  ) {}

  static async create(identity: SigningIdentity, meetingId: string, hooks: MemberHooks): Promise<GroupMember> {
    return new GroupMember(identity, new TextEncoder().encode("kaigi meeting " + meetingId), await createKeyPackage(identity), hooks);
  }

  /** The KeyPackage for hello, base64. */
  keyPackageBase64(): string {
    return toBase64(this.keyPackage.bytes);
  }

  /** A fresh KeyPackage (for a hello after this page lost or left the group). */
  async renewKeyPackage(): Promise<string> {
    this.keyPackage = await createKeyPackage(this.identity);
    return this.keyPackageBase64();
  }

  /** Who we are in the meeting, announced to the group. */
  setSelf(participant: string, name: string): void {
    this.selfId = participant;
    this.selfName = name;
  }

  get inGroup(): boolean {
    return this.state === "member" && this.group !== null;
  }

  /** The group's epoch, or null when not in it. */
  get epoch(): bigint | null {
    return this.inGroup ? this.group!.epoch : null;
  }

  /** The 12-digit security code of the current epoch ("" when not in the group). */
  get securityCode(): string {
    return this.inGroup ? this.code : "";
  }

  members(): MemberView[] {
    return this.views;
  }

  /** Handles one E2EE message from the server, after those before it. */
  handle(m: ServerE2EEMessage): Promise<void> {
    const step = this.steps.then(() => this.step(m));
    this.steps = step.catch((e: unknown) => console.error("kaigi: e2ee:", e));
    return step;
  }

  /** Resolves when everything received so far has been handled. */
  settled(): Promise<void> {
    return this.steps;
  }

  /** Sends an application message to the group, or to one participant. */
  sendApplication(kind: string, body: unknown, to?: string): Promise<void> {
    const step = this.steps.then(async () => {
      if (!this.inGroup) throw new E2EEError("bad-request", "not in the encrypted group yet");
      const data = await this.group!.encrypt(new TextEncoder().encode(JSON.stringify({ kind, body })));
      const msg: ClientE2EEMessage = { type: "e2ee_message", epoch: Number(this.group!.epoch), kind, data: toBase64(data) };
      if (to) msg.to = to;
      this.hooks.send(msg);
    });
    this.steps = step.catch(() => undefined);
    return step;
  }

  private async step(m: ServerE2EEMessage): Promise<void> {
    switch (m.type) {
      case "e2ee_job":
        return this.job(m);
      case "e2ee_commit_ok":
        return this.committed(m.epoch);
      case "e2ee_commit":
        return this.othersCommit(m.commit);
      case "e2ee_welcome":
        return this.welcome(m.welcome);
      case "e2ee_message":
        return this.message(m);
    }
  }

  private async job(j: Extract<ServerE2EEMessage, { type: "e2ee_job" }>): Promise<void> {
    if (j.create) {
      this.group = await Group.create(this.keyPackage, this.groupId);
      this.state = "member";
      await this.epochChanged(true);
      return;
    }
    const g = this.group;
    if (!this.inGroup || !g || BigInt(j.epoch) !== g.epoch) return; // the server reassigns it
    let pending: PendingCommit;
    if (j.remove.length > 0) {
      const leaves: number[] = [];
      for (const r of j.remove) {
        const leaf = await this.leafOf(fromBase64(r.keyPackage));
        if (leaf !== null && leaf !== g.ownLeafIndex) leaves.push(leaf);
      }
      if (leaves.length === 0) return;
      pending = await g.commitRemove(leaves);
    } else {
      if (j.add.length === 0) return;
      const refused = j.add.filter((a) => this.hooks.mayAdd && !this.hooks.mayAdd(a.participant));
      if (refused.length > 0) {
        // Not ours to let in: the server gives the job to someone else, or
        // nobody adds them.
        console.warn("kaigi: e2ee: not adding", refused.map((a) => a.participant).join(", "));
        return;
      }
      pending = await g.commitAdd(j.add.map((a) => fromBase64(a.keyPackage)));
    }
    this.pending = pending;
    const msg: ClientE2EEMessage = { type: "e2ee_commit", epoch: Number(pending.epoch), commit: toBase64(pending.commit) };
    if (pending.welcome) msg.welcome = toBase64(pending.welcome);
    this.hooks.send(msg);
  }

  /** The leaf whose signature key is the one in a KeyPackage. */
  private async leafOf(kp: Uint8Array): Promise<number | null> {
    let key: Uint8Array;
    try {
      key = (await readKeyPackage(kp)).signaturePublicKey;
    } catch {
      return null;
    }
    const m = this.group?.members().find((x) => equalBytes(x.signaturePublicKey, key));
    return m ? m.leafIndex : null;
  }

  private async committed(epoch: number): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (!p || !this.group || BigInt(epoch) !== p.epoch + 1n) return;
    const before = this.group.members().length;
    await this.group.applyCommit(p);
    await this.epochChanged(this.group.members().length > before);
  }

  private async othersCommit(commit: string): Promise<void> {
    if (!this.inGroup || !this.group) return;
    this.pending = null; // if ours crossed it, ours lost
    const before = new Set(this.group.members().map((m) => m.leafIndex));
    const r = await this.group.receive(fromBase64(commit));
    if (r.kind !== "commit") return;
    if (r.removed) {
      this.state = "removed";
      this.presence.clear();
      this.hooks.changed();
      return;
    }
    const added = this.group.members().some((m) => !before.has(m.leafIndex));
    await this.epochChanged(added);
  }

  private async welcome(w: string): Promise<void> {
    // The server sends a Welcome only when a member added us: join, even if
    // we hold the state of a group we were dropped from meanwhile.
    this.group = await Group.join(fromBase64(w), this.keyPackage, this.groupId);
    this.pending = null;
    this.presence.clear();
    this.state = "member";
    await this.epochChanged(true);
  }

  private async message(m: Extract<ServerE2EEMessage, { type: "e2ee_message" }>): Promise<void> {
    if (!this.inGroup || !this.group) return;
    let r;
    try {
      r = await this.group.receive(fromBase64(m.data));
    } catch (e) {
      console.warn("kaigi: e2ee: dropped a message that does not verify:", e);
      return;
    }
    if (r.kind !== "application") return;
    let parsed: { kind?: unknown; body?: unknown };
    try {
      parsed = JSON.parse(new TextDecoder().decode(r.data)) as { kind?: unknown; body?: unknown };
    } catch {
      return;
    }
    // The kind that counts is the one inside the encryption, not the
    // envelope's (which the server reads, and could change).
    if (typeof parsed.kind !== "string" || parsed.kind !== m.kind) return;
    const leaf = r.sender.leafIndex;
    if (parsed.kind === "presence") {
      const b = parsed.body as { participant?: unknown; name?: unknown };
      if (typeof b?.participant === "string" && typeof b.name === "string") {
        this.presence.set(leaf, { participant: b.participant, name: b.name });
        await this.refresh();
        this.hooks.changed();
      }
      return;
    }
    this.hooks.application({
      from: m.from,
      leaf,
      claimed: this.presence.get(leaf)?.participant ?? null,
      kind: parsed.kind,
      body: parsed.body,
      private: m.private,
    });
  }

  /**
   * After every epoch change: new media keys, a new security code and
   * member list; and when members were added, our presence again (the new
   * ones cannot read earlier epochs).
   */
  private async epochChanged(added: boolean): Promise<void> {
    const g = this.group!;
    this.hooks.keys(await g.mediaKeys());
    this.code = await securityCode(g.epochAuthenticator);
    const leaves = new Set(g.members().map((m) => m.leafIndex));
    for (const leaf of this.presence.keys()) if (!leaves.has(leaf)) this.presence.delete(leaf);
    this.presence.set(g.ownLeafIndex, { participant: this.selfId, name: this.selfName });
    await this.refresh();
    this.hooks.changed();
    if (added && this.selfId) {
      const data = await g.encrypt(new TextEncoder().encode(JSON.stringify({ kind: "presence", body: { participant: this.selfId, name: this.selfName } })));
      this.hooks.send({ type: "e2ee_message", epoch: Number(g.epoch), kind: "presence", data: toBase64(data) });
    }
  }

  private async refresh(): Promise<void> {
    const g = this.group;
    if (!g) {
      this.views = [];
      return;
    }
    const claims = new Map<string, number>();
    for (const p of this.presence.values()) claims.set(p.participant, (claims.get(p.participant) ?? 0) + 1);
    const views: MemberView[] = [];
    for (const m of g.members()) {
      const p = this.presence.get(m.leafIndex);
      views.push({
        leaf: m.leafIndex,
        fingerprint: await fingerprint(m.signaturePublicKey),
        signaturePublicKey: m.signaturePublicKey,
        participant: p?.participant ?? null,
        name: p?.name ?? null,
        self: m.leafIndex === g.ownLeafIndex,
        conflict: p ? (claims.get(p.participant) ?? 0) > 1 : false,
      });
    }
    this.views = views;
  }
}
