// Reactions, raised hands and polls in a meeting (issue 14): the state of
// each (reactions.ts, hands.ts, polls.ts) wired to the meeting's end-to-end
// encrypted application messages. It decides what to send and what a
// received message may change; it builds no DOM (ui/reactions.ts,
// ui/hand-queue.ts and ui/polls.ts draw it).

import type { AppMessage } from "../e2ee/messages.js";
import { HAND_KIND, HandQueue, handBody, isHostRole } from "./hands.js";
import {
  POLL_ANSWER_KIND,
  POLL_CLOSE_KIND,
  POLL_KIND,
  POLL_RESULTS_KIND,
  Polls,
  answerBody,
  closeBody,
  newPollId,
  pollBody,
  resultsBody,
  type Poll,
  type PollKeeper,
  type PollSpec,
} from "./polls.js";
import { REACTION_KIND, REACTION_LIMITS, RateLimiter, parseReaction, reactionBody, type Reaction } from "./reactions.js";

/** The meeting's application messages (SecureMeeting provides them). */
export interface AppChannel {
  onApplication(kind: string, handler: (m: AppMessage) => void): void;
  sendApplication(kind: string, body: unknown, to?: string): Promise<void>;
  readonly inGroup: boolean;
  readonly epoch: bigint | null;
}

/** What the controller needs to know of the meeting. */
export interface InteractionsContext {
  selfId(): string | null;
  /** A participant's role from the roster (undefined: not in the meeting). */
  role(participant: string): string | undefined;
  /** The meeting is end-to-end encrypted (application messages work). */
  e2ee(): boolean;
  /** Where one's own polls are kept across a reload (polls.ts; none: not kept). */
  pollKeeper?: PollKeeper;
}

/** What the controller tells the screen. */
export interface InteractionsView {
  /** Someone (perhaps us) reacted: show it over their tile. */
  reaction(participant: string, emoji: Reaction): void;
  handsChanged(): void;
  /** `arrived`: a poll new to us to answer. */
  pollsChanged(arrived?: Poll): void;
  notice(text: string): void;
}

export class Interactions {
  readonly hands = new HandQueue();
  readonly polls: Polls;
  private readonly sent = new RateLimiter(REACTION_LIMITS);
  private readonly received = new RateLimiter(REACTION_LIMITS);
  /** The epoch we last announced our hand and open polls in (null: announce at the next chance). */
  private announcedEpoch: bigint | null = null;

  constructor(
    private readonly channel: AppChannel,
    private readonly ctx: InteractionsContext,
    private readonly view: InteractionsView,
    private readonly now: () => number = Date.now,
  ) {
    this.polls = new Polls(() => ctx.selfId(), ctx.pollKeeper ?? null);
    channel.onApplication(REACTION_KIND, (m) => this.onReaction(m));
    channel.onApplication(HAND_KIND, (m) => this.onHand(m));
    channel.onApplication(POLL_KIND, (m) => this.onPoll(m));
    channel.onApplication(POLL_ANSWER_KIND, (m) => this.onPollAnswer(m));
    channel.onApplication(POLL_CLOSE_KIND, (m) => this.onPollClose(m));
    channel.onApplication(POLL_RESULTS_KIND, (m) => this.onPollResults(m));
  }

  /** Whether messages can be sent now; tells the person why not. */
  private ready(): boolean {
    if (!this.ctx.e2ee()) {
      this.view.notice("Reactions, raised hands and polls work in end-to-end encrypted meetings only.");
      return false;
    }
    if (!this.channel.inGroup || this.ctx.selfId() === null) {
      this.view.notice("Still setting up encryption. Try again in a moment.");
      return false;
    }
    return true;
  }

  private send(kind: string, body: unknown, to?: string): void {
    this.channel.sendApplication(kind, body, to).catch((e: unknown) => {
      console.warn(`kaigi: could not send ${kind}:`, e);
      this.view.notice(to !== undefined ? "Your answer could not be sent to the poll's host yet. Try again in a moment." : "That could not be sent. Try again in a moment.");
    });
  }

  // ---- reactions ----------------------------------------------------------------------

  /** Sends a reaction; returns false when over the rate limit (nothing sent). */
  react(emoji: Reaction): boolean {
    if (!this.ready()) return false;
    if (!this.sent.allow("self", this.now())) return false;
    this.send(REACTION_KIND, reactionBody(emoji));
    this.view.reaction(this.ctx.selfId()!, emoji);
    return true;
  }

  private onReaction(m: AppMessage): void {
    const from = m.claimed;
    const emoji = parseReaction(m.body);
    if (from === null || emoji === null || m.private || this.ctx.role(from) === undefined) return;
    if (!this.received.allow(from, this.now())) return;
    this.view.reaction(from, emoji);
  }

  // ---- hands --------------------------------------------------------------------------

  get handRaised(): boolean {
    const self = this.ctx.selfId();
    return self !== null && this.hands.isRaised(self);
  }

  setHand(raised: boolean): void {
    const self = this.ctx.selfId();
    if (!this.ready() || self === null) return;
    this.send(HAND_KIND, handBody(self, raised, 0));
    if (this.hands.set(self, raised, this.now())) this.view.handsChanged();
  }

  /** A host lowers someone's hand (receivers check that we may). */
  lowerHand(participant: string): void {
    const self = this.ctx.selfId();
    if (!this.ready() || self === null) return;
    if (participant !== self && !isHostRole(this.ctx.role(self))) return;
    this.send(HAND_KIND, handBody(participant, false));
    if (this.hands.set(participant, false, this.now())) this.view.handsChanged();
  }

  private onHand(m: AppMessage): void {
    const from = m.claimed;
    if (from === null || m.private) return;
    if (this.hands.apply(m.body, from, this.ctx.role(from), this.now())) this.view.handsChanged();
  }

  // ---- polls --------------------------------------------------------------------------

  /** Creates a poll (hosts and co-hosts) and sends it to everyone. */
  createPoll(spec: Omit<PollSpec, "id">): Poll | null {
    const self = this.ctx.selfId();
    if (!this.ready() || self === null) return null;
    if (!isHostRole(this.ctx.role(self))) {
      this.view.notice("Only hosts and co-hosts can create polls.");
      return null;
    }
    const p = this.polls.create({ ...spec, id: newPollId() });
    if (p === null) return null;
    this.send(POLL_KIND, pollBody(p));
    this.view.pollsChanged();
    return p;
  }

  /** Answers a poll (again, to change the answer): to its creator only. */
  answerPoll(p: Poll, choices: readonly number[]): boolean {
    if (!this.ready()) return false;
    const sent = this.polls.answer(p.creator, p.id, choices);
    if (sent === null) return false;
    if (!p.mine) this.send(POLL_ANSWER_KIND, answerBody(p.id, sent), p.creator);
    this.view.pollsChanged();
    return true;
  }

  closePoll(id: string): void {
    if (!this.ready() || !this.polls.close(id)) return;
    this.send(POLL_CLOSE_KIND, closeBody(id));
    this.view.pollsChanged();
  }

  sharePoll(id: string): void {
    if (!this.ready()) return;
    const r = this.polls.share(id);
    if (r === null) return;
    this.send(POLL_RESULTS_KIND, resultsBody(id, r));
    this.view.pollsChanged();
  }

  private onPoll(m: AppMessage): void {
    const from = m.claimed;
    if (from === null || m.private) return;
    if (!this.polls.received(m.body, from, isHostRole(this.ctx.role(from)))) return;
    const list = this.polls.list();
    this.view.pollsChanged(list[list.length - 1]);
  }

  private onPollAnswer(m: AppMessage): void {
    const from = m.claimed;
    if (from === null || this.ctx.role(from) === undefined) return;
    if (this.polls.answerReceived(m.body, from, m.private)) this.view.pollsChanged();
  }

  private onPollClose(m: AppMessage): void {
    if (m.claimed !== null && !m.private && this.polls.closeReceived(m.body, m.claimed)) this.view.pollsChanged();
  }

  private onPollResults(m: AppMessage): void {
    if (m.claimed !== null && !m.private && this.polls.resultsReceived(m.body, m.claimed)) this.view.pollsChanged();
  }

  // ---- the meeting around ------------------------------------------------------------------

  /**
   * The roster changed: hands of those who left go down. Someone
   * reconnecting stays in the roster, so keeps their hand.
   */
  rosterChanged(): void {
    if (this.hands.keepOnly((p) => this.ctx.role(p) !== undefined)) this.view.handsChanged();
  }

  /** We (re)connected: announce again once in the group, whatever the epoch. */
  reconnected(): void {
    this.announcedEpoch = null;
  }

  /**
   * The encryption changed. In a new epoch, members who just joined have
   * seen nothing of what was sent before: announce our raised hand (with
   * how long it has been up) and our open polls again. Receivers that knew
   * them change nothing.
   */
  securityChanged(): void {
    const epoch = this.channel.epoch;
    const self = this.ctx.selfId();
    if (!this.ctx.e2ee() || !this.channel.inGroup || epoch === null || self === null || epoch === this.announcedEpoch) return;
    this.announcedEpoch = epoch;
    const at = this.hands.raisedAt(self);
    if (at !== undefined) this.send(HAND_KIND, handBody(self, true, this.now() - at));
    for (const p of this.polls.openMine()) this.send(POLL_KIND, pollBody(p));
  }
}
