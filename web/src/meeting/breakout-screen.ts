// Breakout rooms on the meeting screen: a move the server sends this
// participant (count down, then enter the other room with a fresh session
// and a fresh encrypted group), the host's dialogs to plan, follow, close
// and broadcast to the rooms (ui/breakout-panel.ts), and a host's
// broadcast as everyone sees it: a notice over the meeting until dismissed
// and a line in the chat (breakout-broadcast.ts checks it first).
// meeting-screen.ts owns the screen and hands this module what it needs
// through BreakoutScreenHost.

import { groupMeetingId, NO_BREAKOUTS, type BreakoutStatus, type Move, type RoomPlan } from "./breakouts.js";
import { CHANNEL_KIND, channelBody, channelsFor, cleanBroadcastText, type BroadcastChannels, type BroadcastContext, type Heard } from "./breakout-broadcast.js";
import { isModerator } from "./permissions.js";
import type { BreakoutBroadcast } from "./protocol.js";
import type { SecureMeeting } from "./secure.js";
import type { MeetingSession } from "./session.js";
import { openBreakoutPlanner, openBreakoutStatus, type BreakoutStatusView } from "../ui/breakout-panel.js";
import { el, replace, show } from "../ui/dom.js";

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
  /**
   * A move under way: its token, and the timer of its countdown (null once
   * it runs). Later moves are ignored, except the same one again with no
   * countdown, which goes at once: the session hands it back when the room
   * closes before the countdown ends.
   */
  private moving: { token: string; timer: number | null } | null = null;
  /** The hosts' broadcast channels this page holds, in every room of the meeting. */
  private readonly channels: BroadcastChannels;
  /** The epoch in which this (host's) client last gave its channel to its group. */
  private announcedEpoch: bigint | null = null;
  /** #broadcast-notice: the last broadcast heard, until dismissed. */
  readonly notices = el("div", { id: "broadcast-notice", class: "encryption-banner", attrs: { role: "alert", "data-kind": "broadcast", hidden: true } });

  constructor(private readonly host: BreakoutScreenHost) {
    this.channels = channelsFor(host.meetingId);
    host.secure?.onApplication(CHANNEL_KIND, (m) => this.channels.acceptChannel(m, this.context()));
  }

  /** What a broadcast's receiver checks it against. */
  private context(): BroadcastContext {
    const s = this.host.session;
    return {
      // The invite's word and this client's memory count, not only the server's.
      e2ee: s.e2ee || s.expectsE2ee,
      participant: (id) => s.roster.get(id),
    };
  }

  private get mayBroadcast(): boolean {
    return isModerator(this.host.session.role);
  }

  /**
   * Gives this host's channel to everyone in its group, once per epoch:
   * before it opens rooms, then in each new epoch while they are open.
   */
  private async announce(): Promise<void> {
    const secure = this.host.secure;
    if (!secure || !this.host.session.e2ee || !secure.inGroup || !this.mayBroadcast) return;
    const epoch = secure.epoch;
    if (epoch !== null && epoch === this.announcedEpoch) return;
    this.announcedEpoch = epoch;
    await secure.sendApplication(CHANNEL_KIND, channelBody(this.channels.own())).catch((e: unknown) => {
      this.announcedEpoch = null;
      console.warn("kaigi: could not give the broadcast channel:", e);
    });
  }

  /** The group changed (a new epoch: someone joined): hosts give their channel again while rooms are open. */
  securityChanged(): void {
    if (this.status.open && !this.status.closing) void this.announce();
  }

  /** Sends a host's message to all rooms: null when sent, else what is wrong. */
  private async broadcast(text: string): Promise<string | null> {
    const s = this.host.session;
    const clean = cleanBroadcastText(text);
    if (clean === null) return "Write a message of 1 to 1,000 characters.";
    if (!this.context().e2ee) {
      s.broadcastToRooms({ text: clean });
      return null;
    }
    if (!this.host.secure?.inGroup || s.selfId === null) return "Still setting up encryption. Try again in a moment.";
    await this.announce();
    const sealed = this.channels.seal(s.selfId, clean);
    if (sealed === null) return "Write a message of 1 to 1,000 characters.";
    s.broadcastToRooms({ payload: toBase64(sealed.payload) });
    return null;
  }

  /** A broadcast the server relayed: shown if it opens, is signed and is new, else dropped (counted in the channels). */
  heard(m: BreakoutBroadcast): void {
    let payload: Uint8Array | null = null;
    try {
      payload = m.payload === null ? null : fromBase64(m.payload);
    } catch {
      return;
    }
    const h = this.channels.receive({ from: m.from, payload, text: m.text }, this.context(), this.host.session.selfId);
    if (h !== null) this.show(h);
  }

  private show(h: Heard): void {
    const self = h.from === this.host.session.selfId;
    const who = self ? "You" : h.name;
    const dismiss = el("button", { id: "broadcast-dismiss", class: "button", text: "Dismiss", attrs: { type: "button" } });
    dismiss.addEventListener("click", () => show(this.notices, false));
    replace(
      this.notices,
      el(
        "div",
        { class: "encryption-banner-text" },
        el("strong", { text: `${self ? "You sent to all rooms" : `Message from ${who} to all rooms`}: ` }),
        el("span", { class: "broadcast-text", text: h.text }),
        h.encrypted ? null : el("span", { class: "banner-detail", text: " (not end-to-end encrypted: the server could read it)" }),
      ),
      dismiss,
    );
    this.notices.dataset.from = h.from;
    show(this.notices, true);
    if (h.encrypted) this.host.secure?.addBroadcast(h.from, `${who} (to all rooms)`, h.text);
  }

  /** The server sends us to another room: count down, then move (a new session there, the same devices). */
  moveTo(move: Move): void {
    const under = this.moving;
    if (under !== null) {
      if (under.token === move.token && move.seconds === 0 && under.timer !== null) {
        window.clearTimeout(under.timer);
        under.timer = null;
        void this.switchRoom(move);
      }
      return;
    }
    const m: { token: string; timer: number | null } = { token: move.token, timer: null };
    this.moving = m;
    this.host.notice(move.seconds > 0 ? `Moving to ${where(move)} in ${move.seconds} seconds.` : `Moving to ${where(move)}.`);
    m.timer = window.setTimeout(() => {
      m.timer = null;
      void this.switchRoom(move);
    }, move.seconds * 1000);
  }

  private async switchRoom(move: Move): Promise<void> {
    let secure: SecureMeeting | null = null;
    try {
      secure = this.host.secure ? await this.host.secure.forRoom(groupMeetingId(this.host.meetingId, move.room)) : null;
    } catch (e) {
      // Still here: a later move, or this one again if the room closes, may try again.
      this.moving = null;
      this.host.notice(`Could not move to ${where(move)}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.host.enter(
      secure,
      { token: move.token, room: move.room, name: move.name },
      move.room === 0 ? "You are back in the main room." : `You are in ${move.name}, a breakout room. Its people, keys and security code are its own.`,
    );
  }

  /** The encryption to join the main room afresh with (this room, or the move's token, is gone). */
  mainRoomSecure(): Promise<SecureMeeting | null> {
    return this.host.secure ? this.host.secure.forRoom(groupMeetingId(this.host.meetingId, 0)) : Promise.resolve(null);
  }

  /** Hosts: who is in which room now. */
  changed(status: BreakoutStatus): void {
    this.status = status;
    this.view?.update(status);
    // A host that did not open the rooms (a co-host, or back after a reload) gives its channel now.
    if (status.open && !status.closing) void this.announce();
    // Closed: the next rooms get a fresh channel.
    if (!status.open) {
      this.channels.forgetOwn();
      this.announcedEpoch = null;
    }
  }

  /** The host's breakout rooms dialog: the planner, or who is where while rooms are open. */
  async open(): Promise<void> {
    const host = this.host.session.host;
    const actions = {
      // The channel goes to the main room's group first, so that those sent away at once have it.
      open: (rooms: RoomPlan[], seconds: number) => void this.announce().then(() => host.openBreakouts(rooms, seconds)),
      move: (participant: string, room: number) => host.moveToRoom(participant, room),
      close: (seconds: number) => host.closeBreakouts(seconds),
      broadcast: (text: string) => this.broadcast(text),
      broadcastHint: this.context().e2ee
        ? "End-to-end encrypted and signed: only the meeting's people can read it, and they can tell it is from you."
        : "This meeting is not end-to-end encrypted: the server can read the message.",
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

function where(move: Move): string {
  return move.room === 0 ? "the main room" : `${move.name} (a breakout room)`;
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}
