// MLS (RFC 9420) for a Kaigi meeting, on the ts-mls library (design:
// "Group"). One Group per meeting (and per breakout room), ciphersuite
// MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519. Everything that crosses the
// wire is a serialized MLSMessage in a Uint8Array.
//
// Who is who: every KeyPackage gets a fresh leaf key that the device's
// identity key certifies, with the account it is signed in to
// (credential.ts); every member checks that certificate for every leaf
// (KeyPackages, Welcomes, commits). So several tabs of one browser are
// several leaves with one device key, and the fingerprint people compare
// (securitycode.ts) and remember (identity-store.ts) is the device's.
//
// What enters the group: a member decides for itself (design: "The server
// is the adversary"). receive() refuses every proposal outside a commit
// (Kaigi members make none, and ts-mls would otherwise keep it and fold it
// into our next commit), and every commit that is not from a current
// member, that carries a proposal other than Add, Remove or one change of
// the recording state (recording-state.ts), a proposal by reference, or
// an Add its committer did not attribute, in the commit's authenticated
// data, to a meeting participant the caller's CommitPolicy accepts
// (commit-rules.ts), or that changes a member's key or credential.
// Our own commits carry exactly the proposals we chose: pending proposals
// are never folded in.
//
// Private signing keys: ts-mls passes the member's "signature private key"
// bytes to its ciphersuite's sign(). Kaigi gives it a random 32-byte handle
// instead and signs through a ciphersuite whose sign() looks the handle up
// and uses the non-extractable CryptoKey (signing.ts). The group state so
// never holds the private key, and a handle means nothing outside this page
// or worker (state serialized elsewhere cannot sign).
//
// Commits are two-step, for the delivery service's "one commit per epoch":
// commitAdd/commitRemove return a PendingCommit to send; applyCommit once the
// server accepted it. If another member's commit won, receive() that one
// instead; the pending commit is then stale and is dropped.
//
// Operations on a Group run one at a time in call order (an internal queue),
// because every MLS operation turns one state into the next.

import {
  bytesToBase64,
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  mlsExporter,
  processMessage,
  zeroOutUint8Array,
  type AuthenticationService,
  type CiphersuiteImpl,
  type Hpke,
  type IncomingMessageCallback,
  type ClientConfig,
  type ClientState,
  type Credential,
  type KeyPackage,
  type MLSMessage,
  type PrivateKeyPackage,
  type PrivateMessage,
  type Proposal,
  type RatchetTree,
} from "ts-mls";
import { makeKeyPackageRef, verifyKeyPackage } from "ts-mls/keyPackage.js";
import { decryptGroupInfo, decryptGroupSecrets, type Welcome } from "ts-mls/welcome.js";
import { decryptSenderData } from "ts-mls/privateMessage.js";
import { equalBytes, toHex } from "./bytes.js";
import { E2EEError } from "./errors.js";
import { SFRAME_EXPORTER_LABEL, SFRAME_EXPORTER_LENGTH, type EpochKeys } from "./media-keys.js";
import { commitRefusal, decodeCommitInfo, encodeCommitInfo, MAX_PARTICIPANT_ID, type CommitPolicy } from "./commit-rules.js";
import { certifyLeaf, leafCertified, parseCredential } from "./credential.js";
import { generateSigningIdentity, sign, verify, type SigningIdentity } from "./signing.js";
import { readRecording, RECORDING_EXTENSION, recordingExtension, recordingRefusal, type GroupRecording } from "./recording-state.js";

export type { CommitPolicy } from "./commit-rules.js";
export { credentialDevice, parseCredential, type LeafCredential } from "./credential.js";

export const CIPHERSUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519" as const;

// ---- ciphersuite with handle-based signing ----------------------------------------

const signingKeys = new Map<string, CryptoKey | Uint8Array>();
const handles = new WeakMap<SigningIdentity, Uint8Array>();

/** The stand-in for `identity`'s private key that ts-mls carries around. */
function signingHandle(identity: SigningIdentity): Uint8Array {
  let h = handles.get(identity);
  if (!h) {
    h = globalThis.crypto.getRandomValues(new Uint8Array(32));
    handles.set(identity, h);
    signingKeys.set(bytesToBase64(h), identity.privateKey);
  }
  return h;
}

let suite: Promise<CiphersuiteImpl> | undefined;

function ciphersuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE)).then((base) => ({
    ...base,
    signature: {
      async sign(handle: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
        const key = signingKeys.get(bytesToBase64(handle));
        if (key === undefined) throw new Error("no signing key for this MLS state in this context");
        return sign(key, message);
      },
      verify,
      keygen(): Promise<{ publicKey: Uint8Array; signKey: Uint8Array }> {
        return Promise.reject(new Error("signing keys come from signing.ts"));
      },
    },
  }));
  return suite;
}

/** A leaf is acceptable only if its basic credential is a device's certificate for its signature key. */
const authService: AuthenticationService = {
  async validateCredential(credential: Credential, signaturePublicKey: Uint8Array): Promise<boolean> {
    return credential.credentialType === "basic" && leafCertified(credential.identity, signaturePublicKey);
  },
};

const clientConfig: ClientConfig = {
  keyRetentionConfig: defaultKeyRetentionConfig,
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
  authService,
};

// ---- wire format ------------------------------------------------------------------------

function decode(bytes: Uint8Array): MLSMessage {
  let decoded: [MLSMessage, number] | undefined;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch (e) {
    throw new E2EEError("malformed", "not an MLS message", { cause: e });
  }
  if (!decoded || decoded[1] !== bytes.length) throw new E2EEError("malformed", "not an MLS message");
  return decoded[0];
}

export type MessageKind = "welcome" | "commit" | "proposal" | "application" | "key-package" | "group-info";

/** What the delivery service may see of a message: its kind and, for group messages, epoch and group. */
export interface MessageInfo {
  kind: MessageKind;
  epoch?: bigint;
  groupId?: Uint8Array;
}

/** Reads the clear envelope of an MLS message (no keys needed, nothing verified). */
export function messageInfo(bytes: Uint8Array): MessageInfo {
  const m = decode(bytes);
  switch (m.wireformat) {
    case "mls_welcome":
      return { kind: "welcome" };
    case "mls_key_package":
      return { kind: "key-package" };
    case "mls_group_info":
      return { kind: "group-info" };
    case "mls_private_message": {
      const pm = m.privateMessage;
      return { kind: pm.contentType, epoch: pm.epoch, groupId: pm.groupId };
    }
    case "mls_public_message": {
      const c = m.publicMessage.content;
      return { kind: c.contentType, epoch: c.epoch, groupId: c.groupId };
    }
  }
}

// ---- key packages --------------------------------------------------------------------------

/** A KeyPackage of ours: `bytes` go to the delivery service; its private keys stay here. */
export interface OwnKeyPackage {
  readonly bytes: Uint8Array;
  /** The device identity that certified its leaf. */
  readonly identity: SigningIdentity;
  /** The leaf's own signing key, fresh for this KeyPackage. */
  readonly leaf: SigningIdentity;
}

export interface KeyPackageSecrets {
  publicPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
}

const keyPackageSecrets = new WeakMap<OwnKeyPackage, KeyPackageSecrets>();

/** The private half of one of our KeyPackages, for tests that play a hostile server with it. */
export function keyPackageSecretsForTests(kp: OwnKeyPackage): KeyPackageSecrets {
  const s = keyPackageSecrets.get(kp);
  if (!s) throw new E2EEError("bad-request", "not a KeyPackage from createKeyPackage");
  return s;
}

/**
 * Makes a KeyPackage for joining one group, for this device signed in to
 * `account` ("" for a guest). Use each for one join only: its init key is
 * meant to be used once.
 */
export async function createKeyPackage(identity: SigningIdentity, account = ""): Promise<OwnKeyPackage> {
  const cs = await ciphersuite();
  const leaf = await generateSigningIdentity();
  const credential: Credential = { credentialType: "basic", identity: await certifyLeaf(identity, leaf.publicKey, account) };
  // Members understand Kaigi's recording state (recording-state.ts).
  const capabilities = defaultCapabilities();
  capabilities.extensions = [...capabilities.extensions, RECORDING_EXTENSION];
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    credential,
    capabilities,
    defaultLifetime,
    [],
    { signKey: signingHandle(leaf), publicKey: leaf.publicKey },
    cs,
  );
  const own: OwnKeyPackage = {
    bytes: encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: publicPackage }),
    identity,
    leaf,
  };
  keyPackageSecrets.set(own, { publicPackage, privatePackage });
  return own;
}

/** What a KeyPackage says about who sent it. */
export interface KeyPackageInfo {
  /** The leaf's signing key (fresh for each KeyPackage). */
  signaturePublicKey: Uint8Array;
  /** The device key that certified it: what a fingerprint names. */
  identity: Uint8Array;
  /** The account the device says it is signed in to ("" for a guest). */
  account: string;
}

async function checkKeyPackage(bytes: Uint8Array): Promise<KeyPackage> {
  let m: MLSMessage;
  try {
    m = decode(bytes);
  } catch (e) {
    throw new E2EEError("bad-key-package", "not a KeyPackage", { cause: e });
  }
  if (m.wireformat !== "mls_key_package") throw new E2EEError("bad-key-package", `a ${m.wireformat}, not a KeyPackage`);
  const kp = m.keyPackage;
  const leaf = kp.leafNode;
  if (kp.cipherSuite !== CIPHERSUITE) throw new E2EEError("bad-key-package", `ciphersuite ${kp.cipherSuite}`);
  if (!(await authService.validateCredential(leaf.credential, leaf.signaturePublicKey))) {
    throw new E2EEError("bad-key-package", "credential is not a device certificate for the leaf key");
  }
  if (!(await verifyKeyPackage(kp, (await ciphersuite()).signature))) throw new E2EEError("bad-key-package", "bad signature");
  return kp;
}

/**
 * Checks a KeyPackage someone sent (format, ciphersuite, signature,
 * credential) and says whose it is: e.g. to show a joiner's fingerprint in
 * the waiting room. Throws E2EEError "bad-key-package".
 */
export async function readKeyPackage(bytes: Uint8Array): Promise<KeyPackageInfo> {
  const leaf = (await checkKeyPackage(bytes)).leafNode;
  if (leaf.credential.credentialType !== "basic") throw new E2EEError("bad-key-package", "not a basic credential");
  const c = parseCredential(leaf.credential.identity)!;
  return { signaturePublicKey: leaf.signaturePublicKey.slice(), identity: c.device, account: c.account };
}

// ---- the group ------------------------------------------------------------------------------

export interface Member {
  leafIndex: number;
  /** The device key that certified this leaf (what its fingerprint names). */
  identity: Uint8Array;
  /** The account that device says it is signed in to ("" for a guest). */
  account: string;
  /** The leaf's own signing key. */
  signaturePublicKey: Uint8Array;
}

/** A commit made but not yet applied: send `commit` (and `welcome` to the new members), then applyCommit. */
export interface PendingCommit {
  /** The Commit, for every current member (the delivery service's envelope: `epoch`). */
  readonly commit: Uint8Array;
  /** The Welcome for the members this commit adds; null when it adds nobody. */
  readonly welcome: Uint8Array | null;
  /** The epoch the commit was made in; applying it moves the group to epoch + 1. */
  readonly epoch: bigint;
  /** The participants this commit adds (a subset of those asked for: see `skipped`). */
  readonly added: readonly string[];
  /** The leaf signature key of each of `added`, in the same order. */
  readonly addedKeys: readonly Uint8Array[];
  /** Those asked for whose KeyPackage could not be added, and why. */
  readonly skipped: readonly { participant: string; reason: string }[];
}

/** A participant to add, with the KeyPackage they sent. */
export interface Addition {
  participant: string;
  keyPackage: Uint8Array;
}

/** A leaf a commit added, and the participant its committer attributed it to. */
export interface AddedLeaf {
  leafIndex: number;
  participant: string;
  /** The device key that certified the leaf. */
  identity: Uint8Array;
}

export type Received =
  /** An application message (chat, reactions…) from `sender`, authenticated by MLS. */
  | { kind: "application"; data: Uint8Array; sender: Member; epoch: bigint }
  /**
   * Another member's commit: the group is now at `epoch`; `removed`: we are
   * no longer in it. `committer` made it; `added` and `removedLeaves` are
   * what it changed.
   */
  | { kind: "commit"; epoch: bigint; removed: boolean; committer: number; added: AddedLeaf[]; removedLeaves: number[] };

interface PendingState {
  group: Group;
  newState: ClientState;
  consumed: Uint8Array[];
}

const pendingStates = new WeakMap<PendingCommit, PendingState>();

function membersOf(tree: RatchetTree): Member[] {
  const out: Member[] = [];
  for (let i = 0; i < tree.length; i += 2) {
    const node = tree[i];
    if (node?.nodeType !== "leaf") continue;
    const leaf = node.leaf;
    const c = leaf.credential.credentialType === "basic" ? parseCredential(leaf.credential.identity) : null;
    out.push({ leafIndex: i / 2, identity: c?.device ?? new Uint8Array(0), account: c?.account ?? "", signaturePublicKey: leaf.signaturePublicKey.slice() });
  }
  return out;
}

function rejected(what: string, e: unknown): E2EEError {
  if (e instanceof E2EEError) return e;
  return new E2EEError("rejected", `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** The ciphersuite's HPKE (DHKEM X25519, HKDF-SHA256, AES-128-GCM), for messages to one member. */
export async function hpke(): Promise<Hpke> {
  return (await ciphersuite()).hpke;
}

/**
 * Who signed a Welcome's GroupInfo: ts-mls checks the signature when it
 * joins but does not say whose it was, so read it again (the same steps:
 * group secrets from our init key, then the GroupInfo). Kaigi uses no
 * PSKs, so the PSK secret is all zeroes.
 */
async function welcomeSigner(w: Welcome, secrets: KeyPackageSecrets, cs: CiphersuiteImpl): Promise<number> {
  const ref = await makeKeyPackageRef(secrets.publicPackage, cs.hash);
  const gs = await decryptGroupSecrets(await cs.hpke.importPrivateKey(secrets.privatePackage.initPrivateKey), ref, w, cs.hpke);
  if (!gs || gs.psks.length > 0) throw new E2EEError("rejected", "a Welcome with PSKs");
  const gi = await decryptGroupInfo(w, gs.joinerSecret, new Uint8Array(cs.kdf.size), cs);
  if (!gi) throw new E2EEError("rejected", "a Welcome without a readable GroupInfo");
  return Number(gi.signer);
}

/**
 * The raw MLS state and ciphersuite of a group, for tests that play a
 * hostile member or server (crafting messages an honest client never
 * makes). Nothing in the client calls it.
 */
export function hostileAccess(g: Group): { state: ClientState; cs: CiphersuiteImpl } {
  const inner = g as unknown as { state: ClientState; cs: CiphersuiteImpl };
  return { state: inner.state, cs: inner.cs };
}

export class Group {
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * New for every Group made by create or join, the same for all its
   * epochs: the media worker replaces its keys when this changes (a group
   * made anew after a reset reuses the group id and restarts at epoch 0).
   */
  private readonly instance = toHex(globalThis.crypto.getRandomValues(new Uint8Array(16)));

  private constructor(
    private state: ClientState,
    private readonly cs: CiphersuiteImpl,
  ) {}

  /** Starts a group with this member alone in it, at epoch 0. */
  static async create(keyPackage: OwnKeyPackage, groupId: Uint8Array): Promise<Group> {
    const secrets = keyPackageSecrets.get(keyPackage);
    if (!secrets) throw new E2EEError("bad-request", "not a KeyPackage from createKeyPackage");
    const cs = await ciphersuite();
    const state = await createGroup(groupId.slice(), secrets.publicPackage, secrets.privatePackage, [], cs, clientConfig);
    return new Group(state, cs);
  }

  /**
   * Joins from a Welcome made for `keyPackage` (with the ratchet tree in it).
   * With `groupId`, a Welcome into any other group is refused.
   */
  static async join(welcome: Uint8Array, keyPackage: OwnKeyPackage, groupId?: Uint8Array): Promise<Group> {
    const secrets = keyPackageSecrets.get(keyPackage);
    if (!secrets) throw new E2EEError("bad-request", "not a KeyPackage from createKeyPackage");
    const m = decode(welcome);
    if (m.wireformat !== "mls_welcome") throw new E2EEError("malformed", `a ${m.wireformat}, not a Welcome`);
    const cs = await ciphersuite();
    let state: ClientState;
    try {
      state = await joinGroup(m.welcome, secrets.publicPackage, secrets.privatePackage, emptyPskIndex, cs, undefined, undefined, clientConfig);
    } catch (e) {
      throw rejected("join", e);
    }
    if (groupId && !equalBytes(groupId, state.groupContext.groupId)) throw new E2EEError("wrong-group", "Welcome into another group");
    const g = new Group(state, cs);
    g.welcomedBy = await welcomeSigner(m.welcome, secrets, cs);
    return g;
  }

  /**
   * The leaf index of the member who signed the Welcome's GroupInfo (the
   * committer who added us), for a Group made by join; null for one we
   * created. ts-mls has verified that signature with that leaf's key.
   */
  welcomedBy: number | null = null;

  get groupId(): Uint8Array {
    return this.state.groupContext.groupId.slice();
  }

  get epoch(): bigint {
    return this.state.groupContext.epoch;
  }

  get ownLeafIndex(): number {
    return this.state.privatePath.leafIndex;
  }

  /** False once a commit removed this member. */
  get active(): boolean {
    return this.state.groupActiveState.kind === "active";
  }

  /** The epoch authenticator (RFC 9420 §8.7): the same on every member in this epoch; source of the security code. */
  get epochAuthenticator(): Uint8Array {
    return this.state.keySchedule.epochAuthenticator.slice();
  }

  /** The members in this epoch, by leaf index. */
  members(): Member[] {
    return membersOf(this.state.ratchetTree);
  }

  /** MLS-Exporter(label, context, length) of this epoch (RFC 9420 §8.5). Secret. */
  exportSecret(label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
    return mlsExporter(this.state.keySchedule.exporterSecret, label, context, length, this.cs);
  }

  /** sframe_epoch_secret = MLS-Exporter("SFrame 1.0 Base Key", "", 16) (RFC 9605 §5.2). Secret. */
  sframeEpochSecret(): Promise<Uint8Array> {
    return this.exportSecret(SFRAME_EXPORTER_LABEL, new Uint8Array(0), SFRAME_EXPORTER_LENGTH);
  }

  /** Everything the media worker needs for this epoch (media-keys.ts, worker.ts). */
  async mediaKeys(): Promise<EpochKeys> {
    const epoch = this.epoch;
    const members = this.members().map((m) => m.leafIndex);
    return { epoch, epochSecret: await this.sframeEpochSecret(), ownLeafIndex: this.ownLeafIndex, memberLeafIndices: members, groupInstance: this.instance };
  }

  /**
   * Commits adding these participants; the Welcome carries the ratchet tree
   * and the commit names the participant of each Add. A KeyPackage that is
   * bad, or whose leaf key is already in the group or earlier in the list,
   * is skipped (reported in `skipped`) so that the others still get in;
   * throws "bad-key-package" if none is left.
   */
  commitAdd(additions: readonly Addition[]): Promise<PendingCommit> {
    if (additions.length === 0) return Promise.reject(new E2EEError("bad-request", "nobody to add"));
    return this.commitChanges([], additions);
  }

  /** Commits removing these leaves (not our own: a member leaves by being removed by another). */
  commitRemove(leafIndices: number[]): Promise<PendingCommit> {
    if (leafIndices.length === 0) return Promise.reject(new E2EEError("bad-request", "nobody to remove"));
    return this.commitChanges(leafIndices, []);
  }

  /**
   * One commit removing these leaves and adding these participants (a
   * member back with a fresh KeyPackage is both). Adds are checked as
   * commitAdd's; throws "bad-key-package" if it would add nobody it was
   * asked to and remove nobody.
   */
  commitChanges(leafIndices: readonly number[], additions: readonly Addition[]): Promise<PendingCommit> {
    return this.exclusive(async () => {
      const present = new Set(this.members().map((m) => m.leafIndex));
      for (const leaf of leafIndices) {
        if (leaf === this.ownLeafIndex) throw new E2EEError("bad-request", "cannot remove ourselves");
        if (!present.has(leaf)) throw new E2EEError("bad-request", `leaf ${leaf} is not a member`);
      }
      const removed = new Set(leafIndices);
      const seen = this.members()
        .filter((m) => !removed.has(m.leafIndex))
        .map((m) => m.signaturePublicKey);
      const proposals: Proposal[] = leafIndices.map((leaf) => ({ proposalType: "remove", remove: { removed: leaf } }));
      const added: string[] = [];
      const addedKeys: Uint8Array[] = [];
      const skipped: { participant: string; reason: string }[] = [];
      for (const a of additions) {
        let kp: KeyPackage;
        try {
          kp = await checkKeyPackage(a.keyPackage);
        } catch (e) {
          skipped.push({ participant: a.participant, reason: e instanceof Error ? e.message : String(e) });
          continue;
        }
        const key = kp.leafNode.signaturePublicKey;
        if (this.state.groupContext.extensions.length > 0 && !kp.leafNode.capabilities.extensions.includes(RECORDING_EXTENSION)) {
          skipped.push({ participant: a.participant, reason: "a client that does not know the recording state (an old page: reload it)" });
          continue;
        }
        if (seen.some((k) => equalBytes(k, key))) {
          skipped.push({ participant: a.participant, reason: "its leaf key is already in use" });
          continue;
        }
        if (a.participant.length === 0 || a.participant.length > MAX_PARTICIPANT_ID || added.includes(a.participant)) {
          skipped.push({ participant: a.participant, reason: "bad or repeated participant ID" });
          continue;
        }
        seen.push(key);
        added.push(a.participant);
        addedKeys.push(key.slice());
        proposals.push({ proposalType: "add", add: { keyPackage: kp } });
      }
      if (proposals.length === 0) throw new E2EEError("bad-key-package", `no KeyPackage to add: ${skipped.map((x) => x.reason).join("; ")}`);
      return this.commit(proposals, added, addedKeys, skipped);
    });
  }

  /** Who records, as this epoch's group context says (recording-state.ts); null: nobody, or not in Kaigi's format. */
  recording(): GroupRecording | null {
    return readRecording(this.state.groupContext.extensions) ?? null;
  }

  /**
   * Commits the recording state: this member records `r.id` since
   * `r.since`, or (null) nobody does. Members refuse it unless
   * recording-state.ts's rules allow it, and so does this.
   */
  commitRecording(r: { id: string; since: number } | null): Promise<PendingCommit> {
    return this.exclusive(async () => {
      const own = this.members().find((m) => m.leafIndex === this.ownLeafIndex);
      const ext = recordingExtension(r === null || !own ? null : { ...r, leaf: this.ownLeafIndex, key: own.signaturePublicKey });
      const why = recordingRefusal(this.ownLeafIndex, this.state.groupContext.extensions, [ext], this.members());
      if (why !== null) throw new E2EEError("bad-request", why);
      return this.commit([{ proposalType: "group_context_extensions", groupContextExtensions: { extensions: [ext] } }], [], [], []);
    });
  }

  /**
   * Commits nothing but a fresh path of our own keys: new secrets for
   * everyone (post-compromise security, RFC 9420 §12.4).
   */
  commitUpdate(): Promise<PendingCommit> {
    return this.exclusive(() => this.commit([], [], [], []));
  }

  private async commit(proposals: Proposal[], added: string[], addedKeys: Uint8Array[], skipped: { participant: string; reason: string }[]): Promise<PendingCommit> {
    this.checkActive();
    let r;
    try {
      // Exactly the proposals we chose: ts-mls would fold in every stored
      // one (receive() stores none, and this makes sure of it).
      const state: ClientState = { ...this.state, unappliedProposals: {} };
      r = await createCommit(
        { state, cipherSuite: this.cs },
        { extraProposals: proposals, ratchetTreeExtension: true, authenticatedData: encodeCommitInfo(added) },
      );
    } catch (e) {
      throw rejected("commit", e);
    }
    const pending: PendingCommit = {
      commit: encodeMlsMessage(r.commit),
      welcome: r.welcome ? encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: r.welcome }) : null,
      epoch: this.epoch,
      added,
      addedKeys,
      skipped,
    };
    pendingStates.set(pending, { group: this, newState: r.newState, consumed: r.consumed });
    return pending;
  }

  /**
   * Applies a commit of ours that the delivery service accepted. Throws
   * "stale-commit" if the group has since moved to another epoch (another
   * member's commit was received instead).
   */
  applyCommit(pending: PendingCommit): Promise<void> {
    return this.exclusive(async () => {
      const p = pendingStates.get(pending);
      if (!p || p.group !== this) throw new E2EEError("bad-request", "not a pending commit of this group");
      if (this.epoch !== pending.epoch) {
        throw new E2EEError("stale-commit", `commit for epoch ${pending.epoch}, group is at ${this.epoch}`);
      }
      pendingStates.delete(pending);
      // Application messages sent or received while the commit was pending
      // advanced this epoch's secret tree and overwrote the ratchet secrets
      // they used up. The new state's record of this epoch (kept for late
      // messages) was taken before that: give it the advanced tree, or the
      // next late message of this epoch would not decrypt.
      const historical = new Map(p.newState.historicalReceiverData);
      const thisEpoch = historical.get(this.epoch);
      if (thisEpoch) historical.set(this.epoch, { ...thisEpoch, secretTree: this.state.secretTree });
      for (const [epoch, data] of this.state.historicalReceiverData) if (historical.has(epoch)) historical.set(epoch, data);
      this.adopt({ ...p.newState, historicalReceiverData: historical }, p.consumed);
    });
  }

  /** Encrypts an application message to the group (chat, reactions…). */
  encrypt(data: Uint8Array): Promise<Uint8Array> {
    return this.exclusive(async () => {
      this.checkActive();
      const r = await createApplicationMessage(this.state, data, this.cs);
      this.adopt(r.newState, r.consumed);
      return encodeMlsMessage({ version: "mls10", wireformat: "mls_private_message", privateMessage: r.privateMessage });
    });
  }

  /**
   * Processes a message from another member: an application message or a
   * commit. Throws E2EEError ("malformed", "wrong-group", "rejected",
   * "removed") for anything that does not verify, and "refused" for a
   * proposal outside a commit or a commit that breaks the rules of the file
   * comment (`policy` judges its Adds; `reason` is the one the server
   * relayed a commit with); the group is then unchanged. Never pass our
   * own messages back in.
   */
  receive(bytes: Uint8Array, policy?: CommitPolicy, reason = ""): Promise<Received> {
    return this.exclusive(async () => {
      this.checkActive();
      const m = decode(bytes);
      if (m.wireformat !== "mls_private_message" && m.wireformat !== "mls_public_message") {
        throw new E2EEError("malformed", `a ${m.wireformat} is not a group message`);
      }
      const groupId = m.wireformat === "mls_private_message" ? m.privateMessage.groupId : m.publicMessage.content.groupId;
      if (!equalBytes(groupId, this.state.groupContext.groupId)) throw new E2EEError("wrong-group", "message for another group");
      const before = this.members();
      const sender = m.wireformat === "mls_private_message" ? await this.applicationSender(m.privateMessage) : null;
      const ad = m.wireformat === "mls_private_message" ? m.privateMessage.authenticatedData : m.publicMessage.content.authenticatedData;
      const info = decodeCommitInfo(ad);
      const verdict: { refusal: string | null; committer: number | undefined; addKeys: Uint8Array[] } = { refusal: null, committer: undefined, addKeys: [] };
      const decide: IncomingMessageCallback = (incoming) => {
        if (incoming.kind === "proposal") {
          verdict.refusal = "a proposal outside a commit";
        } else {
          verdict.refusal = commitRefusal(incoming.senderLeafIndex, incoming.proposals, info, policy, { extensions: this.state.groupContext.extensions, members: before }, reason);
          verdict.committer = incoming.senderLeafIndex;
          for (const p of incoming.proposals) if (p.proposal.proposalType === "add") verdict.addKeys.push(p.proposal.add.keyPackage.leafNode.signaturePublicKey);
        }
        return verdict.refusal === null ? "accept" : "reject";
      };
      let r;
      try {
        r = await processMessage(m, this.state, emptyPskIndex, decide, this.cs);
      } catch (e) {
        throw rejected("receive", e);
      }
      if (verdict.refusal !== null) throw new E2EEError("refused", verdict.refusal);
      if (r.kind === "applicationMessage") {
        if (!sender) throw new E2EEError("rejected", "application message without a known sender");
        this.adopt(r.newState, r.consumed);
        return { kind: "application", data: r.message, sender: sender.member, epoch: sender.epoch };
      }
      if (verdict.committer === undefined) throw new E2EEError("rejected", "not a commit");
      // A member keeps its leaf key and credential for as long as it is in
      // the group (Kaigi clients never change them): a commit whose update
      // path gives the committer another key or another device or account
      // is someone trying to become someone else.
      if (r.newState.groupActiveState.kind === "active") {
        for (const x of membersOf(r.newState.ratchetTree)) {
          const was = before.find((b) => b.leafIndex === x.leafIndex);
          if (!was || verdict.addKeys.some((k) => equalBytes(k, x.signaturePublicKey))) continue;
          if (!equalBytes(was.signaturePublicKey, x.signaturePublicKey) || !equalBytes(was.identity, x.identity) || was.account !== x.account) {
            throw new E2EEError("refused", "a commit that changes a member's key, device or account");
          }
        }
      }
      this.adopt(r.newState, r.consumed);
      const after = this.active ? this.members() : [];
      const had = new Set(before.map((x) => x.leafIndex));
      const has = new Set(after.map((x) => x.leafIndex));
      const added: AddedLeaf[] = [];
      after.forEach((x) => {
        const fresh = verdict.addKeys.some((k) => equalBytes(k, x.signaturePublicKey));
        if (!fresh && had.has(x.leafIndex)) return;
        added.push({ leafIndex: x.leafIndex, participant: "", identity: x.identity });
      });
      // The Adds' participants, in proposal order; new leaves fill blanks
      // in that order too, so match them by leaf key instead of position.
      for (const a of added) {
        const leaf = after.find((x) => x.leafIndex === a.leafIndex)!;
        const i = verdict.addKeys.findIndex((k) => equalBytes(k, leaf.signaturePublicKey));
        a.participant = info?.add[i] ?? "";
      }
      const removedLeaves = this.active ? before.filter((x) => !has.has(x.leafIndex)).map((x) => x.leafIndex) : [];
      return { kind: "commit", epoch: this.epoch, removed: !this.active, committer: verdict.committer, added, removedLeaves };
    });
  }

  /**
   * The sender of a private application message, from its sender data. ts-mls
   * verifies the content's signature against exactly this leaf's key when it
   * processes the message, so once that succeeds the sender is authentic.
   */
  private async applicationSender(pm: PrivateMessage): Promise<{ member: Member; epoch: bigint } | null> {
    if (pm.contentType !== "application") return null;
    const current = pm.epoch === this.epoch;
    const data = current ? null : this.state.historicalReceiverData.get(pm.epoch);
    const senderDataSecret = current ? this.state.keySchedule.senderDataSecret : data?.senderDataSecret;
    const tree = current ? this.state.ratchetTree : data?.ratchetTree;
    if (!senderDataSecret || !tree) return null;
    let sd;
    try {
      sd = await decryptSenderData(pm, senderDataSecret, this.cs);
    } catch {
      return null;
    }
    const member = sd ? membersOf(tree).find((x) => x.leafIndex === sd.leafIndex) : undefined;
    return member ? { member, epoch: pm.epoch } : null;
  }

  /**
   * Moves to the next state and overwrites the secrets the step used up, as
   * ts-mls asks. (Of a pending commit those include our own handshake
   * ratchet of the old epoch, which is never needed again.)
   */
  private adopt(next: ClientState, consumed: Uint8Array[]): void {
    this.state = next;
    consumed.forEach(zeroOutUint8Array);
  }

  private checkActive(): void {
    if (!this.active) throw new E2EEError("removed", "no longer a member of this group");
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
