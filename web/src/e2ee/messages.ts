// The E2EE messages between a member's client and the delivery service
// (docs/protocol.md, "End-to-end encryption"), and what a member hands its
// caller of a verified application message. Bytes travel as base64. What
// is inside an application message's encryption is JSON padded to a size
// bucket (padded()), so that its length tells the server little.

/** Application messages are padded to a power of two from this size on. */
const MIN_PADDED = 256;

/** Server → client E2EE messages (bytes as base64). */
export type ServerE2EEMessage =
  | {
      type: "e2ee_job";
      create: boolean;
      epoch: number;
      add: { participant: string; keyPackage: string }[];
      remove: { participant: string; keyPackage: string }[];
    }
  | { type: "e2ee_commit"; epoch: number; from: string; /** Why the server took it ("" or absent: a job's commit). */ reason?: string; commit: string }
  | { type: "e2ee_commit_ok"; epoch: number }
  | { type: "e2ee_welcome"; epoch: number; welcome: string }
  | { type: "e2ee_message"; from: string; epoch: number; kind: string; data: string; private: boolean };

/** Client → server E2EE messages. */
export type ClientE2EEMessage =
  | {
      type: "e2ee_commit";
      epoch: number;
      commit: string;
      welcome?: string;
      /** A commit of our own initiative (no job): a key update, removing members who left, or the recording state. */
      reason?: "update" | "remove" | "recording";
      /** With reason "remove": the participants it removes. */
      remove?: string[];
      /** For an add job: participants whose KeyPackage could not be added. */
      skipped?: string[];
    }
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
  /** Sealed to us alone (the sealed box said so, not the server). */
  private: boolean;
}

/** Pads JSON with spaces (which JSON.parse ignores) to the next size bucket. */
export function padded(json: string): Uint8Array {
  const bytes = new TextEncoder().encode(json);
  let size = MIN_PADDED;
  while (size < bytes.length) size *= 2;
  const out = new Uint8Array(size).fill(0x20);
  out.set(bytes);
  return out;
}
