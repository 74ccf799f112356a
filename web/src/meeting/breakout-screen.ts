// Breakout rooms on the meeting screen: a move the server sends this
// participant (count down, then enter the other room with a fresh session
// and a fresh encrypted group), and the host's dialogs to plan, follow and
// close the rooms (ui/breakout-panel.ts). meeting-screen.ts owns the screen
// and hands this module what it needs through BreakoutScreenHost.

import { groupMeetingId, NO_BREAKOUTS, type BreakoutStatus, type Move, type RoomPlan } from "./breakouts.js";
import type { SecureMeeting } from "./secure.js";
import type { MeetingSession } from "./session.js";
import { openBreakoutPlanner, openBreakoutStatus, type BreakoutStatusView } from "../ui/breakout-panel.js";

/** What the breakout part needs of the meeting screen. */
export interface BreakoutScreenHost {
  readonly meetingId: string;
  /** Where dialogs open. */
  readonly root: HTMLElement;
  readonly session: MeetingSession;
  /** This room's encryption (null: this browser has none). */
  readonly secure: SecureMeeting | null;
  notice(text: string): void;
  /** Leaves this room's screen and session and opens the meeting in another room, with a first notice. */
  enter(secure: SecureMeeting | null, move: { token: string; room: number; name: string }, notice: string): void;
}

export class BreakoutScreen {
  /** Breakout rooms as hosts see them. */
  private status: BreakoutStatus = NO_BREAKOUTS;
  /** The status dialog while it is open, redrawn on every `breakouts` message. */
  private view: BreakoutStatusView | null = null;
  /** A move is under way: later ones are ignored. */
  private moving = false;

  constructor(private readonly host: BreakoutScreenHost) {}

  /** The server sends us to another room: count down, then move (a new session there, the same devices). */
  moveTo(move: Move): void {
    if (this.moving) return;
    this.moving = true;
    const where = move.room === 0 ? "the main room" : `${move.name} (a breakout room)`;
    this.host.notice(move.seconds > 0 ? `Moving to ${where} in ${move.seconds} seconds.` : `Moving to ${where}.`);
    window.setTimeout(() => void this.switchRoom(move), move.seconds * 1000);
  }

  private async switchRoom(move: Move): Promise<void> {
    const secure = this.host.secure ? await this.host.secure.forRoom(groupMeetingId(this.host.meetingId, move.room)) : null;
    this.host.enter(
      secure,
      { token: move.token, room: move.room, name: move.name },
      move.room === 0 ? "You are back in the main room." : `You are in ${move.name}, a breakout room. Its people, keys and security code are its own.`,
    );
  }

  /** Hosts: who is in which room now. */
  changed(status: BreakoutStatus): void {
    this.status = status;
    this.view?.update(status);
  }

  /** The host's breakout rooms dialog: the planner, or who is where while rooms are open. */
  async open(): Promise<void> {
    const host = this.host.session.host;
    const actions = {
      open: (rooms: RoomPlan[], seconds: number) => host.openBreakouts(rooms, seconds),
      move: (participant: string, room: number) => host.moveToRoom(participant, room),
      close: (seconds: number) => host.closeBreakouts(seconds),
    };
    if (this.status.open) {
      const view = openBreakoutStatus(this.host.root, this.status, actions);
      this.view = view;
      await view.done;
      if (this.view === view) this.view = null;
      return;
    }
    const self = this.host.session.selfId;
    const people = this.host.session.roster
      .list()
      .filter((p) => p.id !== self && p.connection === "connected")
      .map((p) => ({ id: p.id, name: p.name }));
    if (people.length === 0) {
      this.host.notice("Nobody else is here to send to breakout rooms.");
      return;
    }
    await openBreakoutPlanner(this.host.root, people, actions);
  }
}
