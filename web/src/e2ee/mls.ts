// MLS (RFC 9420) for a Kaigi meeting, on the ts-mls library (design:
// "Group"). One Group per meeting (and per breakout room), ciphersuite
// MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519. Everything that crosses the
// wire is a serialized MLSMessage in a Uint8Array.
//
// Who is who: a member's basic credential carries its raw Ed25519 signature
// public key as the identity, and every member checks that binding for every
// leaf (KeyPackages, Welcomes, commits). Which person a key belongs to is
// what the fingerprint comparison (securitycode.ts) and the remembered
// identities (identity-store.ts) establish.
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
  acceptAll,
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
import { verifyKeyPackage } from "ts-mls/keyPackage.js";
import { decryptSenderData } from "ts-mls/privateMessage.js";
import { equalBytes } from "./bytes.js";
import { E2EEError } from "./errors.js";
import { SFRAME_EXPORTER_LABEL, SFRAME_EXPORTER_LENGTH, type EpochKeys } from "./media-keys.js";
import { sign, verify, type SigningIdentity } from "./signing.js";

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

/** A leaf is acceptable only if its basic credential names its own signature key. */
const authService: AuthenticationService = {
  async validateCredential(credential: Credential, signaturePublicKey: Uint8Array): Promise<boolean> {
    return credential.credentialType === "basic" && equalBytes(credential.identity, signaturePublicKey);
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
  /** The identity it was made for. */
  readonly identity: SigningIdentity;
}

interface KeyPackageSecrets {
  publicPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
}

const keyPackageSecrets = new WeakMap<OwnKeyPackage, KeyPackageSecrets>();

/**
 * Makes a KeyPackage for joining one group. Use each for one join only: its
 * init key is meant to be used once.
 */
export async function createKeyPackage(identity: SigningIdentity): Promise<OwnKeyPackage> {
  const cs = await ciphersuite();
  const credential: Credential = { credentialType: "basic", identity: identity.publicKey.slice() };
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    credential,
    defaultCapabilities(),
    defaultLifetime,
    [],
    { signKey: signingHandle(identity), publicKey: identity.publicKey },
    cs,
  );
  const own: OwnKeyPackage = {
    bytes: encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: publicPackage }),
    identity,
  };
  keyPackageSecrets.set(own, { publicPackage, privatePackage });
  return own;
}

/** What a KeyPackage says about who sent it. */
export interface KeyPackageInfo {
  signaturePublicKey: Uint8Array;
  identity: Uint8Array;
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
    throw new E2EEError("bad-key-package", "credential does not name the signature key");
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
  return { signaturePublicKey: leaf.signaturePublicKey.slice(), identity: leaf.credential.identity.slice() };
}

// ---- the group ------------------------------------------------------------------------------

export interface Member {
  leafIndex: number;
  /** The basic credential's identity: the same bytes as the signature public key. */
  identity: Uint8Array;
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
}

export type Received =
  /** An application message (chat, reactions…) from `sender`, authenticated by MLS. */
  | { kind: "application"; data: Uint8Array; sender: Member; epoch: bigint }
  /** Another member's commit: the group is now at `epoch`; `removed`: we are no longer in it. */
  | { kind: "commit"; epoch: bigint; removed: boolean }
  /** A standalone proposal, kept for a later commit. */
  | { kind: "proposal" };

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
    const identity = leaf.credential.credentialType === "basic" ? leaf.credential.identity : new Uint8Array(0);
    out.push({ leafIndex: i / 2, identity: identity.slice(), signaturePublicKey: leaf.signaturePublicKey.slice() });
  }
  return out;
}

function rejected(what: string, e: unknown): E2EEError {
  if (e instanceof E2EEError) return e;
  return new E2EEError("rejected", `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

export class Group {
  private queue: Promise<unknown> = Promise.resolve();

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
    return new Group(state, cs);
  }

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
    return { epoch, epochSecret: await this.sframeEpochSecret(), ownLeafIndex: this.ownLeafIndex, memberLeafIndices: members };
  }

  /** Commits adding the members of these KeyPackages; the Welcome carries the ratchet tree. */
  commitAdd(keyPackages: Uint8Array[]): Promise<PendingCommit> {
    return this.exclusive(async () => {
      if (keyPackages.length === 0) throw new E2EEError("bad-request", "nobody to add");
      const proposals: Proposal[] = [];
      for (const bytes of keyPackages) proposals.push({ proposalType: "add", add: { keyPackage: await checkKeyPackage(bytes) } });
      return this.commit(proposals);
    });
  }

  /** Commits removing these leaves (not our own: a member leaves by being removed by another). */
  commitRemove(leafIndices: number[]): Promise<PendingCommit> {
    return this.exclusive(async () => {
      const present = new Set(this.members().map((m) => m.leafIndex));
      if (leafIndices.length === 0) throw new E2EEError("bad-request", "nobody to remove");
      for (const leaf of leafIndices) {
        if (leaf === this.ownLeafIndex) throw new E2EEError("bad-request", "cannot remove ourselves");
        if (!present.has(leaf)) throw new E2EEError("bad-request", `leaf ${leaf} is not a member`);
      }
      return this.commit(leafIndices.map((removed) => ({ proposalType: "remove", remove: { removed } })));
    });
  }

  private async commit(proposals: Proposal[]): Promise<PendingCommit> {
    this.checkActive();
    let r;
    try {
      r = await createCommit({ state: this.state, cipherSuite: this.cs }, { extraProposals: proposals, ratchetTreeExtension: true });
    } catch (e) {
      throw rejected("commit", e);
    }
    const pending: PendingCommit = {
      commit: encodeMlsMessage(r.commit),
      welcome: r.welcome ? encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: r.welcome }) : null,
      epoch: this.epoch,
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
   * Processes a message from another member: an application message, a
   * commit or a proposal. Throws E2EEError ("malformed", "wrong-group",
   * "rejected", "removed") for anything that does not verify; the group is
   * then unchanged. Never pass our own messages back in.
   */
  receive(bytes: Uint8Array): Promise<Received> {
    return this.exclusive(async () => {
      this.checkActive();
      const m = decode(bytes);
      if (m.wireformat !== "mls_private_message" && m.wireformat !== "mls_public_message") {
        throw new E2EEError("malformed", `a ${m.wireformat} is not a group message`);
      }
      const groupId = m.wireformat === "mls_private_message" ? m.privateMessage.groupId : m.publicMessage.content.groupId;
      if (!equalBytes(groupId, this.state.groupContext.groupId)) throw new E2EEError("wrong-group", "message for another group");
      const before = this.epoch;
      const sender = m.wireformat === "mls_private_message" ? await this.applicationSender(m.privateMessage) : null;
      let r;
      try {
        r = await processMessage(m, this.state, emptyPskIndex, acceptAll, this.cs);
      } catch (e) {
        throw rejected("receive", e);
      }
      if (r.kind === "applicationMessage") {
        if (!sender) throw new E2EEError("rejected", "application message without a known sender");
        this.adopt(r.newState, r.consumed);
        return { kind: "application", data: r.message, sender: sender.member, epoch: sender.epoch };
      }
      this.adopt(r.newState, r.consumed);
      if (this.epoch !== before || !this.active) return { kind: "commit", epoch: this.epoch, removed: !this.active };
      return { kind: "proposal" };
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
