// A member of the encrypted group as every member's screen shows it: the
// cryptographic truth (a leaf, its device and account) joined with what the
// leaf claims and what the meeting's roster says, and what is wrong with
// that (member.ts works it out; ui/security.ts puts it in words).

/** What is wrong with a member of the group, as every member's screen shows it. */
export type MemberProblem =
  /** Said nothing about who it is, well after it joined. */
  | "unclaimed"
  /** Claims a participant who is not in the meeting. */
  | "absent"
  /** Claims another participant than the one it was added as. */
  | "mismatch"
  /** Another leaf claims the same participant. */
  | "conflict"
  /** Its key is for another account (or a guest) than the participant it claims. */
  | "account";

/** A member of the group as the UI shows it. */
export interface MemberView {
  leaf: number;
  /** The fingerprint of the device key that certified the leaf. */
  fingerprint: string;
  /** That device key. */
  identity: Uint8Array;
  /** The account the device says it is signed in to ("" for a guest): its own signed word. */
  account: string;
  signaturePublicKey: Uint8Array;
  /** The participant this leaf announced it is; null until it does. */
  participant: string | null;
  name: string | null;
  self: boolean;
  /** Another leaf claims the same participant: something is wrong. */
  conflict: boolean;
  /** Null when all is well; see MemberProblem. */
  problem: MemberProblem | null;
  /** Joined moments ago and has not said who it is yet (not a problem yet). */
  joining: boolean;
}
