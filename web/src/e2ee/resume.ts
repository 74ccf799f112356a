// Keeping the meeting's group when the server that relayed for it is lost
// (docs/security.md, "When the meeting's node is lost"). A member's hello
// says which epoch its group is at and proves it with the resume proof, an
// exporter value of that epoch: every member of the epoch has the same one,
// nobody outside it can make it, and it says nothing of the epoch's other
// secrets. The server that takes the meeting over continues the group from
// the members who prove the same epoch (internal/e2ee resume.go); the
// others are told to leave their group and are added anew by a member.
//
// Nothing here lets the server steer a member: a member that continues
// keeps its own group and applies only commits that verify in it, and the
// epoch the server says it continues at is checked against its own.

import type { Group } from "./mls.js";

/** The exporter label of the resume proof. */
export const RESUME_PROOF_LABEL = "kaigi resume proof";
/** Its length in bytes (internal/e2ee ResumeProofSize). */
export const RESUME_PROOF_LENGTH = 32;

/** MLS-Exporter("kaigi resume proof", "", 32) of the group's current epoch. */
export function resumeProof(g: Group): Promise<Uint8Array> {
  return g.exportSecret(RESUME_PROOF_LABEL, new Uint8Array(0), RESUME_PROOF_LENGTH);
}

/**
 * What to tell the person when the server says the group continues at
 * `claimed` (welcome's e2eeEpoch) and this browser is at `own` (null: in
 * no group): null when they agree.
 */
export function continuedAtAnotherEpoch(claimed: number, own: bigint | null): string | null {
  if (own !== null && own === BigInt(claimed)) return null;
  const at = own === null ? "holds no encrypted group" : `is at epoch ${own}`;
  return `The server says this browser's encrypted group goes on at epoch ${claimed}, but this browser ${at}; it keeps its own group and accepts only changes made in it. Until a member adds it again it may not receive the meeting's keys.`;
}
