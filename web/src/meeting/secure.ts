// End-to-end encryption for one meeting session: this device's identity,
// the page's media-encryption worker, and this browser's place in the
// meeting's MLS group (e2ee/member.ts). It gives `hello` its KeyPackage,
// protects every sender and receiver of the call, turns E2EE messages from
// the server into keys, a security code and a verified member list, and
// carries chat. docs/security.md says what this protects and what not.

import { IdentityStore, MemoryStore, openIndexedDBStore, type Verification } from "../e2ee/identity-store.js";
import { MediaEncryption } from "../e2ee/media-encryption.js";
import type { GroupRecording } from "../e2ee/recording-state.js";
import { GroupMember, type AppMessage, type ClientE2EEMessage, type MemberView, type SecurityWarning, type ServerE2EEMessage } from "../e2ee/member.js";
import type { SigningIdentity } from "../e2ee/signing.js";
import type { StreamStats } from "../e2ee/transform.js";
import { keyHolders, playsInClear } from "./ingest.js";
import type { Kind, Participant, Source } from "./protocol.js";
import type { Settings } from "./settings.js";

/** A chat message as the chat panel shows it. */
export interface ChatMessage {
  seq: number;
  /** The participant it is from, as its MLS leaf announced (authenticated). */
  from: string;
  text: string;
  at: number;
  self: boolean;
  /** Sent to one person only: to us (received) or to `to` (sent). */
  private: boolean;
  to: string | null;
  /** Who it is from, when the chat says it itself (a host's broadcast to all rooms, who may not be in this room). */
  label?: string;
}

/** What the session tells SecureMeeting about the meeting, for deciding whom to add. */
export interface MeetingContext {
  participant(id: string): Participant | undefined;
  /** Everyone admitted to the meeting. */
  people(): readonly Participant[];
  settings(): Settings | null;
  selfId(): string | null;
}

export interface SecureHooks {
  send(m: ClientE2EEMessage): void;
  /** Epoch, security code or members changed. */
  changed(): void;
  chat(): void;
}

/** The longest a chat message may be, in characters. */
export const CHAT_MAX = 4000;
/** How often the group's upkeep runs (departed members' leaves, key updates). */
const UPKEEP_MS = 2_000;

let pageMedia: MediaEncryption | null = null;
let pageIdentity: Promise<{ store: IdentityStore; identity: SigningIdentity }> | null = null;

/** One media-encryption worker per page (the sending counter must be shared). */
function mediaEncryption(): MediaEncryption {
  if (!pageMedia) pageMedia = MediaEncryption.start();
  return pageMedia;
}

/** This page's device identity (the key its MLS leaves are certified with; recording/key-signature.ts signs with it too). */
export function deviceIdentity(): Promise<{ store: IdentityStore; identity: SigningIdentity }> {
  if (!pageIdentity) {
    pageIdentity = (async () => {
      const store = new IdentityStore(await openIndexedDBStore().catch(() => new MemoryStore()));
      return { store, identity: await store.identity() };
    })();
  }
  return pageIdentity;
}

export class SecureMeeting {
  /** The meeting is end-to-end encrypted (welcome said so). */
  active = false;
  readonly chat: ChatMessage[] = [];
  private seq = 0;
  /** Participants this client let in from the waiting room: it commits their Adds. */
  private readonly admittedByMe = new Set<string>();
  /** Receiving streams (by mid) and the MLS leaf that really sends each. */
  private readonly streamLeaf = new Map<string, number>();
  private hooks: SecureHooks | null = null;
  private context: MeetingContext | null = null;
  private upkeep: ReturnType<typeof setInterval> | null = null;
  private keyWarnings: SecurityWarning[] = [];
  private checkSeq = 0;
  /** Handlers of the application messages other than chat (reactions, hands, polls: meeting/interactions.ts), by kind. */
  private readonly appHandlers = new Map<string, (m: AppMessage) => void>();

  private constructor(
    private readonly ids: IdentityStore,
    private readonly member: GroupMember,
    private readonly media: MediaEncryption,
    private readonly account: string,
  ) {
    media.onSender = (stream, leaf) => {
      this.streamLeaf.set(stream, leaf);
      this.hooks?.changed();
    };
    media.onError = (message) => console.warn("kaigi: media encryption:", message);
  }

  /** Whether this browser can take part in end-to-end encrypted meetings. */
  static supported(): boolean {
    return MediaEncryption.supported() && typeof crypto !== "undefined" && crypto.subtle !== undefined && typeof indexedDB !== "undefined";
  }

  /**
   * Gets this device's identity and a KeyPackage ready, before `hello`;
   * `account` is the account the person joins with ("" for a guest), which
   * the device certifies with its key.
   */
  static async prepare(meetingId: string, account = ""): Promise<SecureMeeting> {
    const { store, identity } = await deviceIdentity();
    let me: SecureMeeting | null = null;
    const member = await GroupMember.create(identity, meetingId, {
      send: (m) => me?.hooks?.send(m),
      mayAdd: (p) => me?.mayAdd(p) ?? false,
      participant: (id) => me?.context?.participant(id),
      roster: () => keyHolders(me?.context?.people() ?? [], me?.context?.settings()),
      keys: (k) => me?.media.setKeys(k),
      changed: () => me?.membersChanged(),
      application: (m) => me?.application(m),
    }, account);
    me = new SecureMeeting(store, member, mediaEncryption(), account);
    return me;
  }

  /**
   * The encryption for another room of the same meeting (a breakout room,
   * or the main room again): a group of its own, named after `groupMeetingId`
   * (breakouts.ts), in which the devices this one knew from the meeting
   * may be added back by any member.
   */
  async forRoom(groupMeetingId: string): Promise<SecureMeeting> {
    const next = await SecureMeeting.prepare(groupMeetingId, this.account);
    next.member.trustDevices(this.member.knownDevices());
    return next;
  }

  attach(hooks: SecureHooks, context: MeetingContext): void {
    this.hooks = hooks;
    this.context = context;
  }

  /**
   * What `hello` carries: our KeyPackage, and on a resume the epoch we are
   * at with its resume proof (e2ee/resume.ts: a server that lost the group
   * continues it from the members who prove the same epoch).
   */
  helloFields(): { keyPackage: string; e2eeEpoch?: number; e2eeProof?: string } {
    const f: { keyPackage: string; e2eeEpoch?: number; e2eeProof?: string } = { keyPackage: this.member.keyPackageBase64() };
    const epoch = this.member.epoch;
    if (epoch !== null) f.e2eeEpoch = Number(epoch);
    const claim = this.member.resumeClaim();
    if (claim !== null) {
      f.e2eeEpoch = Number(claim.epoch);
      f.e2eeProof = claim.proof;
    }
    return f;
  }

  /**
   * `welcome` arrived. Not resumed: the server starts us afresh (a new
   * participant, or it lost the meeting), so our old group is gone.
   * Resumed after a server restart: we are the same participant, but the
   * group is formed afresh by the same people, unless the server continues
   * it from what we hold (`continuedAt`: the epoch it says we go on at).
   */
  welcomed(self: Participant, e2ee: boolean, resumed = true, restart = false, continuedAt: number | null = null): void {
    this.active = e2ee;
    // A new peer connection: its mids say nothing of the old one's senders.
    this.streamLeaf.clear();
    if (!resumed) void this.member.reset();
    else if (restart) void this.member.restarted();
    else if (continuedAt !== null) void this.member.continued(continuedAt);
    this.member.setSelf(self.id, self.name);
    this.upkeep ??= setInterval(() => void this.member.maintain(), UPKEEP_MS);
    this.hooks?.changed();
  }

  /** Makes a fresh KeyPackage for the next hello (the last one could not be used). */
  async renewKeyPackage(): Promise<void> {
    await this.member.renewKeyPackage();
  }

  /** Someone's role changed: new keys soon, so what follows is sealed under keys made since. */
  roleChanged(): void {
    this.member.requestUpdate();
  }

  /** Participants in the meeting who have long held no key (member.ts `keyless`). */
  keyless(): readonly string[] {
    return this.member.keyless();
  }

  /**
   * What went wrong with the encryption, for the person to see: the
   * group's warnings, and every member whose account the user verified
   * on other devices than the one it holds now.
   */
  warnings(): readonly SecurityWarning[] {
    return [...this.member.warnings(), ...this.keyWarnings];
  }

  /** Called after every change of the group (recording/in-meeting.ts re-reads the recording state). */
  readonly groupListeners = new Set<() => void>();

  /** Who records, as the group agreed (e2ee/recording-state.ts). */
  recording(): GroupRecording | null {
    return this.member.recording();
  }

  /** Commits that this member records `id`, or (null) stopped (e2ee/member.ts). */
  commitRecording(id: string | null): Promise<boolean> {
    return this.member.commitRecording(id);
  }

  /** The group changed: tell the view, and check the members' keys against what this device verified. */
  private membersChanged(): void {
    this.hooks?.changed();
    for (const f of this.groupListeners) f();
    const seq = ++this.checkSeq;
    void (async () => {
      const found: SecurityWarning[] = [];
      for (const m of this.member.members()) {
        if (m.self || m.participant === null) continue;
        const v = await this.verification(m);
        if (v.status !== "key-changed") continue;
        const name = this.context?.participant(m.participant)?.name ?? m.name ?? m.participant;
        found.push({ at: Date.now(), text: `${name} is using a device you have not verified for their account (key ${m.fingerprint}; you verified ${v.previousFingerprint}).` });
      }
      if (seq !== this.checkSeq) return;
      const same = found.length === this.keyWarnings.length && found.every((w, i) => w.text === this.keyWarnings[i]!.text);
      this.keyWarnings = found;
      if (!same) this.hooks?.changed();
    })();
  }

  handle(m: ServerE2EEMessage): void {
    void this.member.handle(m).then(async () => {
      // A Welcome used our KeyPackage: have a fresh one ready for a later
      // hello (a resume after the server forgot us).
      if (m.type === "e2ee_welcome" || (m.type === "e2ee_job" && m.create)) await this.member.renewKeyPackage();
    });
  }

  /**
   * Protects a sending transceiver, before it carries any media. Returns
   * whether it did: the call puts no track on a sender that is not protected.
   */
  protectSender(sender: RTCRtpSender, source: Source, kind: Kind): boolean {
    if (!this.active) return false;
    this.media.protectSender(sender, { id: source, kind });
    return true;
  }

  /**
   * Protects a receiver as its track arrives, from `from` as the server's
   * offer says: a WHIP source the meeting allows is played as it comes,
   * not decrypted (ingest.ts), and marked as such on its tile and row.
   */
  protectReceiver(receiver: RTCRtpReceiver, mid: string, kind: Kind, from?: string): void {
    if (from !== undefined && playsInClear(this.context?.participant(from), this.context?.settings())) return;
    if (this.active) this.media.protectReceiver(receiver, { id: mid, kind });
  }

  /** A host (us) admitted these people: our client adds them to the group. */
  admitting(ids: readonly string[]): void {
    for (const id of ids) this.admittedByMe.add(id);
  }

  /**
   * Whether to commit an Add the server asks for: only for people in the
   * meeting, and, where a host admits people, only those we admitted
   * ourselves (or the meeting's host, whom nobody admits).
   */
  private mayAdd(participant: string): boolean {
    const p = this.context?.participant(participant);
    if (!p) return false;
    if (!this.context?.settings()?.waitingRoom) return true;
    return this.admittedByMe.has(participant) || p.role === "host" || p.role === "cohost";
  }

  get inGroup(): boolean {
    return this.member.inGroup;
  }

  get epoch(): bigint | null {
    return this.member.epoch;
  }

  get securityCode(): string {
    return this.member.securityCode;
  }

  members(): MemberView[] {
    return this.member.members();
  }

  /** The group member that claims to be this participant, if exactly one does. */
  memberOf(participant: string): MemberView | null {
    const ms = this.member.members().filter((m) => m.participant === participant);
    return ms.length === 1 ? ms[0]! : null;
  }

  /**
   * Whether a received stream (by mid) really comes from this participant:
   * true or false once frames decrypted, null before.
   */
  streamFrom(mid: string, participant: string): boolean | null {
    const leaf = this.streamLeaf.get(mid);
    if (leaf === undefined) return null;
    return this.member.members().some((m) => m.leaf === leaf && m.participant === participant);
  }

  /**
   * The account a member's device certified its key for (null: a guest).
   * Its own signed word, not the server's: the roster's account for the
   * participant it claims must match it, or member.ts flags the leaf.
   */
  private accountOf(m: MemberView): string | null {
    return m.account === "" ? null : m.account;
  }

  /** Whether the user verified this member's device for the account it claims. */
  verification(m: MemberView): Promise<Verification> {
    return this.ids.check(this.accountOf(m), m.identity);
  }

  /** Remembers this member's device as verified for its account (guests cannot be). */
  async markVerified(m: MemberView): Promise<void> {
    const account = this.accountOf(m);
    if (account === null) return;
    await this.ids.markVerified(account, m.name ?? "", m.identity);
    this.membersChanged();
  }

  async forget(m: MemberView): Promise<void> {
    const account = this.accountOf(m);
    if (account === null) return;
    await this.ids.forget(account);
    this.membersChanged();
  }

  /** Sends a chat message to everyone, or privately to one participant. */
  async sendChat(text: string, to: string | null): Promise<void> {
    const t = text.trim().slice(0, CHAT_MAX);
    if (t === "") return;
    await this.member.sendApplication("chat", { text: t }, to ?? undefined);
    this.chat.push({ seq: this.seq++, from: this.context?.selfId() ?? "", text: t, at: Date.now(), self: true, private: to !== null, to });
    this.hooks?.chat();
  }

  /** Adds a line to the chat that came another way, already checked: a host's broadcast to all rooms (breakout-broadcast.ts). */
  addBroadcast(from: string, label: string, text: string): void {
    this.chat.push({ seq: this.seq++, from, text, at: Date.now(), self: false, private: false, to: null, label });
    this.hooks?.chat();
  }

  /** Hands received application messages of this kind to `handler` (which validates them); unknown kinds are ignored. */
  onApplication(kind: string, handler: (m: AppMessage) => void): void {
    this.appHandlers.set(kind, handler);
  }

  /** Sends an application message of another kind than chat, to everyone or sealed to one participant. */
  sendApplication(kind: string, body: unknown, to?: string): Promise<void> {
    return this.member.sendApplication(kind, body, to);
  }

  private application(m: AppMessage): void {
    if (m.kind !== "chat") {
      this.appHandlers.get(m.kind)?.(m);
      return;
    }
    const body = m.body as { text?: unknown };
    if (typeof body?.text !== "string" || body.text.length === 0) return;
    // Who sent it is what the sender's MLS leaf announced, not the server's word.
    const from = m.claimed;
    if (from === null) return;
    const sender = this.context?.participant(from);
    const settings = this.context?.settings();
    // Receivers enforce "who may chat" too: a client that ignores it is not heard.
    if (settings?.chat === "hosts" && sender?.role !== "host" && sender?.role !== "cohost") return;
    // `private` is what the sealed box says (member.ts), never the envelope.
    this.chat.push({ seq: this.seq++, from, text: body.text.slice(0, CHAT_MAX), at: Date.now(), self: false, private: m.private, to: null });
    this.hooks?.chat();
  }

  /** The worker's counters: frames passed and dropped per stream. */
  stats(): Promise<StreamStats[]> {
    return this.media.stats();
  }

  /** The session ended: the worker forgets this meeting's keys. */
  close(): void {
    if (this.upkeep !== null) clearInterval(this.upkeep);
    this.upkeep = null;
    this.media.clearKeys();
    this.hooks = null;
  }
}
