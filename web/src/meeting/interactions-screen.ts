// The meeting screen's part for reactions, raised hands and polls (issue
// 14): their controls-bar buttons (polls: an item of the bar's "More"
// menu), the polls panel, the hosts' chip for
// raised hands, and what each shows over tiles and in the participants
// panel. interactions.ts decides what is sent and believed; this module
// turns it into DOM and clicks into calls.

import { Interactions, type AppChannel } from "./interactions.js";
import { isModerator } from "./permissions.js";
import { tabPollKeeper, type Poll } from "./polls.js";
import type { Reaction } from "./reactions.js";
import type { MeetingSession, SessionStatus } from "./session.js";
import { HandQueueView } from "../ui/hand-queue.js";
import { PollsPanel } from "../ui/polls.js";
import { ReactionPicker, showReaction } from "../ui/reactions.js";
import { el } from "../ui/dom.js";
import type { MenuItem } from "../ui/menu.js";

export interface InteractionsScreenParts {
  session: MeetingSession;
  /** The meeting's application messages (null: this browser cannot do E2EE). */
  channel: AppChannel | null;
  /** The meeting screen's root (dialogs open in it). */
  root: HTMLElement;
  gallery: HTMLElement;
  people: HTMLElement;
  notice(text: string): void;
  /** Opens the participants panel. */
  showPeople(): void;
  /** How many open polls wait for this person's answer, for the "More" menu's badge. */
  pollsWaiting(count: number): void;
  /** Where focus goes when the polls panel closes with focus in it (the "More" button). */
  pollsClosed(): void;
}

/** A channel for a browser without end-to-end encryption: never in a group. */
const NO_CHANNEL: AppChannel = {
  onApplication: () => undefined,
  sendApplication: () => Promise.reject(new Error("no end-to-end encryption")),
  inGroup: false,
  epoch: null,
};

export class InteractionsScreen {
  readonly interactions: Interactions;
  /** Buttons for the controls bar. */
  readonly controls: HTMLElement[];
  /** What goes over the meeting: the polls panel, the hosts' chip for raised hands, and a live region for reactions. */
  readonly overlays: HTMLElement[];
  private readonly picker: ReactionPicker;
  private readonly hands: HandQueueView;
  private readonly polls: PollsPanel;
  private readonly announce: HTMLDivElement;

  constructor(private readonly parts: InteractionsScreenParts) {
    const s = parts.session;
    this.interactions = new Interactions(
      parts.channel ?? NO_CHANNEL,
      {
        selfId: () => s.selfId,
        role: (id) => s.roster.get(id)?.role,
        e2ee: () => s.e2ee && parts.channel !== null,
        // Kept per meeting and room: a host's main-room polls stay out of its breakout room.
        pollKeeper: tabPollKeeper(() => `${s.meetingId}.${s.breakout?.room ?? 0}`),
      },
      {
        reaction: (p, emoji) => this.reaction(p, emoji),
        handsChanged: () => this.renderHands(),
        pollsChanged: (arrived) => this.pollsChanged(arrived),
        notice: (text) => parts.notice(text),
      },
    );
    this.picker = new ReactionPicker((emoji) => {
      if (!this.interactions.react(emoji)) this.picker.setOpen(false);
    });
    this.hands = new HandQueueView({
      toggle: () => this.interactions.setHand(!this.interactions.handRaised),
      lower: (p) => this.interactions.lowerHand(p),
      showPeople: () => parts.showPeople(),
    });
    this.polls = new PollsPanel(parts.root, {
      create: (spec) => {
        if (this.interactions.createPoll(spec)) this.polls.setOpen(true);
      },
      answer: (p, choices) => void this.interactions.answerPoll(p, choices),
      close: (p) => this.interactions.closePoll(p.id),
      share: (p) => this.interactions.sharePoll(p.id),
      toggle: () => {
        const closing = this.polls.open;
        const focusInside = this.polls.root.contains(document.activeElement);
        this.polls.setOpen(!closing);
        this.renderPolls();
        if (closing && focusInside) parts.pollsClosed();
      },
    });
    this.announce = el("div", { id: "reaction-announcer", class: "visually-hidden", attrs: { "aria-live": "polite" } });
    this.controls = [this.picker.root, this.hands.button];
    this.overlays = [this.polls.root, this.hands.chip, this.announce];
  }

  /** The "More" menu's items. */
  menuItems(): MenuItem[] {
    return [this.polls.menuItem()];
  }

  /** After the tiles or the participants panel were drawn: hands on them again. */
  decorate(): void {
    this.hands.decorate(this.parts.gallery, this.parts.people);
  }

  rosterChanged(): void {
    this.interactions.rosterChanged();
    this.renderHands();
    this.renderPolls();
  }

  securityChanged(): void {
    this.interactions.securityChanged();
  }

  status(s: SessionStatus): void {
    if (s !== "in-meeting") this.interactions.reconnected();
  }

  destroy(): void {
    this.picker.destroy();
  }

  private name(id: string): string {
    return this.parts.session.roster.get(id)?.name ?? "Someone";
  }

  private reaction(participant: string, emoji: Reaction): void {
    const name = participant === this.parts.session.selfId ? "You" : this.name(participant);
    showReaction(this.parts.gallery, participant, emoji, name);
    this.announce.textContent = `${name}: ${emoji}`;
  }

  private renderHands(): void {
    const s = this.parts.session;
    this.hands.render({ queue: this.interactions.hands.queue(), name: (id) => this.name(id), selfId: s.selfId, moderator: isModerator(s.role) });
    this.decorate();
  }

  private pollsChanged(arrived?: Poll): void {
    if (arrived && !this.polls.open) {
      this.parts.notice(`${this.name(arrived.creator)} started a poll: ${arrived.question}`);
      this.polls.setOpen(true);
    }
    this.renderPolls();
  }

  private renderPolls(): void {
    const p = this.interactions.polls;
    this.polls.render({
      polls: p.list(),
      tally: (poll) => p.tally(poll.id),
      name: (id) => (id === this.parts.session.selfId ? "You" : this.name(id)),
      moderator: isModerator(this.parts.session.role),
    });
    this.parts.pollsWaiting(this.polls.waiting);
  }
}
