// The errors the E2EE modules throw, in one place. Callers compare `code`;
// `message` is for logs and never contains key material.

export type E2EECode =
  /** Bytes that are not the expected MLS message (wrong wire format, undecodable, another ciphersuite). */
  | "malformed"
  /** An MLS message or Welcome for another group than this one. */
  | "wrong-group"
  /** MLS refused the message: bad signature, failed decryption, wrong epoch, invalid proposal… (see `cause`). */
  | "rejected"
  /**
   * Verified, but against Kaigi's rules, so not applied: a proposal outside
   * a commit, a commit with proposals we never accept, or an Add nobody
   * vouched for (design: "The server is the adversary").
   */
  | "refused"
  /** A KeyPackage that is malformed, badly signed, or whose credential is not its signature key. */
  | "bad-key-package"
  /** The group moved to another epoch since this commit was made: it can no longer be applied. */
  | "stale-commit"
  /** This member was removed from the group; it can neither send nor receive. */
  | "removed"
  /** The request makes no sense (remove yourself, an unknown leaf, nothing to add). */
  | "bad-request";

export class E2EEError extends Error {
  override readonly name = "E2EEError";

  constructor(
    readonly code: E2EECode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
