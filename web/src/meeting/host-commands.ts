// The host controls of docs/protocol.md as methods, so the screens speak in
// the product's words (admit, mute, remove) rather than in messages. The
// server checks every one against the sender's role and answers `error
// forbidden` when it is not allowed; the session shows that as a notice.

import type { HostControl } from "./protocol.js";
import type { Settings } from "./settings.js";
import { openMessage, type RoomPlan } from "./breakouts.js";

export class HostCommands {
  constructor(private readonly send: (m: HostControl) => void) {}

  /** Lets one person in from the waiting room (`id` is their waiting-room entry's). */
  admit(id: string): void {
    this.send({ type: "admit", participant: id });
  }

  admitAll(): void {
    this.send({ type: "admit", all: true });
  }

  deny(id: string): void {
    this.send({ type: "deny", participant: id });
  }

  /** Turns everyone in the waiting room away, for when strangers flood it. */
  denyAll(): void {
    this.send({ type: "deny", all: true });
  }

  /** Opens breakout rooms and sends the people planned for each there after `seconds`. */
  openBreakouts(rooms: RoomPlan[], seconds: number): void {
    this.send(openMessage(rooms, seconds));
  }

  /** Sends someone to breakout room `room` at once (0: back to the main room). */
  moveToRoom(id: string, room: number): void {
    this.send({ type: "breakout_move", participant: id, room });
  }

  /** Brings everyone back from the breakout rooms after `seconds`. */
  closeBreakouts(seconds: number): void {
    this.send({ type: "breakout_close", seconds });
  }

  lock(locked: boolean): void {
    this.send({ type: "lock", locked });
  }

  /** Takes someone out; with `ban`, they cannot come back with the same link, account or browser. */
  remove(id: string, ban: boolean): void {
    this.send({ type: "remove", participant: id, ban });
  }

  mute(id: string): void {
    this.send({ type: "mute", participant: id });
  }

  muteAll(): void {
    this.send({ type: "mute_all" });
  }

  stopVideo(id: string, screen: boolean): void {
    this.send({ type: "stop_video", participant: id, screen });
  }

  /** Renames a participant (or oneself, when the meeting allows it). */
  rename(id: string, name: string): void {
    this.send({ type: "rename", participant: id, name });
  }

  setCohost(id: string, cohost: boolean): void {
    this.send({ type: "set_role", participant: id, role: cohost ? "cohost" : "participant" });
  }

  updateSettings(settings: Settings): void {
    this.send({ type: "settings", settings });
  }

  endForAll(): void {
    this.send({ type: "end" });
  }

  /** Starts (with the ID of a recording this account created) or stops recording. */
  record(on: boolean, recording: string): void {
    this.send({ type: "record", on, recording });
  }

  /** Asks the server to record the meeting itself (only a meeting without end-to-end encryption); stopping is record(false, ""). */
  recordOnServer(): void {
    this.send({ type: "record", on: true, recording: "", server: true });
  }
}
