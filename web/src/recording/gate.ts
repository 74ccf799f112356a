// When this browser may record, in an end-to-end encrypted meeting
// (docs/security.md, "Who records and who is told"): only while the
// meeting's MLS group says that this member records this recording. The
// server's `recording` message is the permission (it knows roles); the
// group's state is what every member who can decrypt the meeting agrees on
// (e2ee/recording-state.ts). So once the server agreed, the gate commits
// the state to the group and starts the recorder only when that commit is
// applied; it pauses the recorder whenever the group stops saying so (a
// group made anew after the server lost it) and commits the state again;
// after the recorder stopped it commits that nobody records, at once.
// These commits go to the server with the reason "recording" (e2ee/
// member.ts), which it takes from the member it let record a few times a
// recording apart from key updates (internal/e2ee ReasonRecording,
// MaxRecordingCommits; from anyone else only as a key update): so neither
// a start right after this member's
// last key update nor a clear right after a start waits for the 30 s
// between two key updates. Members refuse a commit sent with that reason
// that does anything but change who records (e2ee/commit-rules.ts). A
// meeting without end-to-end encryption has no group: the server's word
// is all there is, and the recorder starts at once.

import { equalBytes } from "../e2ee/bytes.js";
import type { GroupRecording } from "../e2ee/recording-state.js";

/** What the gate needs of the meeting's group member (e2ee/member.ts, meeting/secure.ts). */
export interface GroupRecordingControl {
  recording(): GroupRecording | null;
  members(): readonly { leaf: number; self: boolean; signaturePublicKey: Uint8Array }[];
  /** Commits the state, if no commit of ours is in flight; true when sent. */
  commitRecording(id: string | null): Promise<boolean>;
}

export interface GateHooks {
  /** The group says we record: start the MediaRecorder (once). */
  start(): void;
  /** The group no longer says so: pause it. */
  pause(): void;
  /** It says so again: resume. */
  resume(): void;
}

type Phase = "idle" | "waiting" | "recording" | "paused";

export class RecordingGate {
  private wanted: string | null = null;
  /** The recording whose state we still have to clear from the group. */
  private clearing: string | null = null;
  private phase: Phase = "idle";

  constructor(
    private readonly group: GroupRecordingControl | null,
    private readonly hooks: GateHooks,
  ) {}

  /** Nothing left to do: not recording, and the group's state cleared (or never set). */
  get idle(): boolean {
    return this.wanted === null && this.clearing === null;
  }

  /** Whether the recorder was started and is not paused. */
  get recording(): boolean {
    return this.phase === "recording";
  }

  /** The server agreed that we record `id`: commit it to the group, start once the group says so. */
  begin(id: string): Promise<void> {
    if (this.wanted !== null) return Promise.resolve();
    this.wanted = id;
    this.clearing = null;
    this.phase = "waiting";
    if (this.group === null) {
      this.phase = "recording";
      this.hooks.start();
      return Promise.resolve();
    }
    return this.check();
  }

  /** We stopped recording (the recorder is stopped by the caller): clear the group's state. */
  end(): Promise<void> {
    const id = this.wanted;
    this.wanted = null;
    this.phase = "idle";
    if (id === null || this.group === null) return Promise.resolve();
    this.clearing = id;
    return this.check();
  }

  /** After every change of the group (epoch, members), and now and then. */
  async check(): Promise<void> {
    const g = this.group;
    if (g === null) return;
    if (this.wanted === null) {
      if (this.clearing === null) return;
      if (!this.names(this.clearing)) {
        this.clearing = null;
        return;
      }
      await g.commitRecording(null);
      return;
    }
    if (this.names(this.wanted)) {
      if (this.phase === "waiting") {
        this.phase = "recording";
        this.hooks.start();
      } else if (this.phase === "paused") {
        this.phase = "recording";
        this.hooks.resume();
      }
      return;
    }
    if (this.phase === "recording") {
      this.phase = "paused";
      this.hooks.pause();
    }
    await g.commitRecording(this.wanted);
  }

  /** Whether the group's state says this member records `id`. */
  private names(id: string): boolean {
    const r = this.group?.recording() ?? null;
    const self = this.group?.members().find((m) => m.self);
    return r !== null && self !== undefined && r.id === id && r.leaf === self.leaf && equalBytes(r.key, self.signaturePublicKey);
  }
}
