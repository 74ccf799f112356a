// Coming back after a reload: the resume token of the latest `welcome`,
// kept in this tab's sessionStorage (lib/storage.ts) with the time it was
// handed out and what was being sent, so that a reloaded page takes back
// its place in the meeting (same participant, same role, no waiting room)
// with the devices that were on. Only this tab holds it; it is forgotten on
// leave, on a final close, when the server does not take it, and after
// RESUME_MAX_AGE_MS.

import { forgetResume, loadResume, saveResume, type KeptResume } from "../lib/storage.js";
import type { ResumeKeeper } from "./signal.js";

/** Where the tab's resume token lives (sessionStorage; a fake in tests). */
export interface ResumeStorage {
  load(meetingId: string, now: number): KeptResume | null;
  save(meetingId: string, kept: KeptResume): void;
  forget(meetingId: string): void;
}

export const tabStorage: ResumeStorage = {
  load: (id, now) => loadResume(id, now),
  save: saveResume,
  forget: forgetResume,
};

export class TabResume implements ResumeKeeper {
  private kept: KeptResume | null;

  constructor(
    private readonly meetingId: string,
    private readonly storage: ResumeStorage = tabStorage,
    private readonly now: () => number = Date.now,
  ) {
    this.kept = storage.load(meetingId, now());
  }

  /** The token to resume with, if this tab holds a fresh one. */
  get initial(): string | null {
    return this.kept?.token ?? null;
  }

  /** What was being sent when the token was last kept: the devices a reload turns back on. */
  get media(): { audio: boolean; video: boolean } | null {
    return this.kept ? { audio: this.kept.audio, video: this.kept.video } : null;
  }

  save(token: string): void {
    this.kept = { token, at: this.now(), audio: this.kept?.audio ?? false, video: this.kept?.video ?? false };
    this.storage.save(this.meetingId, this.kept);
  }

  forget(): void {
    this.kept = null;
    this.storage.forget(this.meetingId);
  }

  /**
   * The page is going away without leaving: the token was good until now
   * (its age counts from here), and what is being sent is what to start
   * again after the reload.
   */
  pageLeaving(audio: boolean, video: boolean): void {
    if (this.kept === null) return;
    this.kept = { token: this.kept.token, at: this.now(), audio, video };
    this.storage.save(this.meetingId, this.kept);
  }
}
