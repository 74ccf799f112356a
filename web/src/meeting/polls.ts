// Polls (issue 14), as MLS application messages. A host or co-host creates
// a poll; everyone gets it; each participant's answer goes to the poll's
// creator alone (sealed to the creator, like private chat), whose client
// tallies; the creator closes the poll and may share the counts with
// everyone. Schemas, version 1:
//
//   poll          {"v":1,"id","question","options":[…],"multiple","anonymous"}   host/co-host → everyone
//   poll_answer   {"v":1,"poll","choices":[i, …]}                                 anyone → the creator, sealed
//   poll_close    {"v":1,"poll"}                                                  creator → everyone
//   poll_results  {"v":1,"poll","counts":[n, …],"answered"}                       creator → everyone
//
// Every receiver checks sizes, counts and ids, and who may send what: a
// poll only from a host or co-host; an answer only sealed to us, for a
// poll we created that is open, with valid choices (one for a
// single-choice poll); a close or results only from the poll's creator
// (polls are keyed by creator and id, so nobody can close another's).
// An answer may change until the poll closes: the latest counts. Shared
// results carry counts only, never names; an anonymous poll's tally
// carries no names either. (The creator's client must know who sent each
// answer, to count one per person; it never shows or shares it.)
//
// The creator's own polls (open or closed, with each answer so far) are
// kept in the tab's sessionStorage (PollKeeper), next to the resume token
// (resume.ts), so that a reload that resumes the same participant still
// has them: the tally is in no other place. Only a client that is the same
// participant again takes them back; at most KEPT_POLLS_MAX polls and
// KEPT_BYTES_MAX characters are kept, the oldest dropped first.

import { POLLS_PREFIX } from "../lib/storage.js";

export const POLL_KIND = "poll";
export const POLL_ANSWER_KIND = "poll_answer";
export const POLL_CLOSE_KIND = "poll_close";
export const POLL_RESULTS_KIND = "poll_results";
export const POLL_VERSION = 1;
export const QUESTION_MAX = 300;
export const OPTION_MAX = 100;
export const OPTIONS_MIN = 2;
export const OPTIONS_MAX = 10;
/** The most polls a client keeps (oldest forgotten first). */
export const POLLS_KEPT = 50;
/** Larger bodies are refused unread. */
const BODY_MAX = 8192;
/** More answers than this to one poll are not counted (no meeting is that large). */
const ANSWERS_MAX = 10_000;
const ID_PATTERN = /^[A-Za-z0-9_-]{8,32}$/;

export interface PollSpec {
  id: string;
  question: string;
  options: string[];
  multiple: boolean;
  anonymous: boolean;
}

export interface PollCounts {
  counts: number[];
  /** How many people answered. */
  answered: number;
}

export interface Poll extends PollSpec {
  creator: string;
  /** We created it: answers come to us. */
  mine: boolean;
  open: boolean;
  /** Our own answer, as last sent. */
  myChoices: number[] | null;
  /** The results the creator shared, once it does. */
  shared: PollCounts | null;
}

/** What the creator sees while a poll runs. `voters` is null for an anonymous poll. */
export interface Tally extends PollCounts {
  voters: string[][] | null;
}

function object(body: unknown): Record<string, unknown> | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  if (JSON.stringify(body).length > BODY_MAX) return null;
  const b = body as Record<string, unknown>;
  return b.v === POLL_VERSION ? b : null;
}

function text(s: unknown, max: number): string | null {
  if (typeof s !== "string") return null;
  const t = s.trim();
  return t.length > 0 && t.length <= max ? t : null;
}

export function validId(id: unknown): id is string {
  return typeof id === "string" && ID_PATTERN.test(id);
}

/** A fresh poll id (16 hex characters). */
export function newPollId(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  return [...random(8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** What is wrong with a poll someone is writing (null: nothing). */
export function pollProblem(question: string, options: readonly string[]): string | null {
  const q = question.trim();
  if (q.length === 0) return "Write a question.";
  if (q.length > QUESTION_MAX) return `Keep the question under ${QUESTION_MAX} characters.`;
  const opts = options.map((o) => o.trim()).filter((o) => o !== "");
  if (opts.length < OPTIONS_MIN) return `Give at least ${OPTIONS_MIN} options.`;
  if (opts.length > OPTIONS_MAX) return `Give at most ${OPTIONS_MAX} options.`;
  if (opts.some((o) => o.length > OPTION_MAX)) return `Keep each option under ${OPTION_MAX} characters.`;
  if (new Set(opts).size !== opts.length) return "Two options are the same.";
  return null;
}

export function pollBody(p: PollSpec): Record<string, unknown> {
  return { v: POLL_VERSION, id: p.id, question: p.question, options: p.options, multiple: p.multiple, anonymous: p.anonymous };
}

export function parsePoll(body: unknown): PollSpec | null {
  const b = object(body);
  if (!b || !validId(b.id) || typeof b.multiple !== "boolean" || typeof b.anonymous !== "boolean") return null;
  const question = text(b.question, QUESTION_MAX);
  if (question === null || !Array.isArray(b.options)) return null;
  if (b.options.length < OPTIONS_MIN || b.options.length > OPTIONS_MAX) return null;
  const options: string[] = [];
  for (const o of b.options) {
    const t = text(o, OPTION_MAX);
    if (t === null) return null;
    options.push(t);
  }
  if (new Set(options).size !== options.length) return null;
  return { id: b.id, question, options, multiple: b.multiple, anonymous: b.anonymous };
}

export function answerBody(poll: string, choices: readonly number[]): Record<string, unknown> {
  return { v: POLL_VERSION, poll, choices: [...choices] };
}

/** The structure of an answer; whether its choices fit the poll is checked against it. */
export function parseAnswer(body: unknown): { poll: string; choices: number[] } | null {
  const b = object(body);
  if (!b || !validId(b.poll) || !Array.isArray(b.choices)) return null;
  if (b.choices.length === 0 || b.choices.length > OPTIONS_MAX) return null;
  if (!b.choices.every((c) => Number.isInteger(c) && (c as number) >= 0 && (c as number) < OPTIONS_MAX)) return null;
  const choices = [...new Set(b.choices as number[])].sort((x, y) => x - y);
  if (choices.length !== b.choices.length) return null;
  return { poll: b.poll, choices };
}

export function closeBody(poll: string): Record<string, unknown> {
  return { v: POLL_VERSION, poll };
}

export function parseClose(body: unknown): { poll: string } | null {
  const b = object(body);
  return b && validId(b.poll) ? { poll: b.poll } : null;
}

export function resultsBody(poll: string, r: PollCounts): Record<string, unknown> {
  return { v: POLL_VERSION, poll, counts: [...r.counts], answered: r.answered };
}

export function parseResults(body: unknown): ({ poll: string } & PollCounts) | null {
  const b = object(body);
  if (!b || !validId(b.poll) || !Array.isArray(b.counts)) return null;
  const answered = b.answered;
  if (!Number.isInteger(answered) || (answered as number) < 0 || (answered as number) > ANSWERS_MAX) return null;
  if (b.counts.length < OPTIONS_MIN || b.counts.length > OPTIONS_MAX) return null;
  if (!b.counts.every((c) => Number.isInteger(c) && (c as number) >= 0 && (c as number) <= (answered as number))) return null;
  return { poll: b.poll, counts: [...(b.counts as number[])], answered: answered as number };
}

/** Whether `choices` (sorted, distinct) answer this poll. */
function fits(p: PollSpec, choices: readonly number[]): boolean {
  if (choices.length === 0 || choices.some((c) => c >= p.options.length)) return false;
  return p.multiple || choices.length === 1;
}

function key(creator: string, id: string): string {
  return `${creator}\u0000${id}`;
}

/** Where a creator's polls are kept across a reload (the tab's sessionStorage; a fake in tests). */
export interface PollKeeper {
  load(): string | null;
  save(kept: string): void;
  forget(): void;
}

/** The most of one's own polls kept across a reload. */
export const KEPT_POLLS_MAX = 20;
/** The most characters kept (sessionStorage holds about 5 MB for the whole origin). */
export const KEPT_BYTES_MAX = 256 * 1024;

/**
 * A keeper in this tab's sessionStorage under `scope` ("<meeting>.<room>",
 * read when it is used). Forgetting the meeting's resume token (leave,
 * refusal, a final close: lib/storage.ts forgetResume) forgets these too.
 */
export function tabPollKeeper(scope: () => string): PollKeeper {
  const store = (): Storage | undefined => {
    try {
      return globalThis.sessionStorage;
    } catch {
      return undefined;
    }
  };
  return {
    load: () => {
      try {
        return store()?.getItem(POLLS_PREFIX + scope()) ?? null;
      } catch {
        return null;
      }
    },
    save: (kept) => {
      try {
        store()?.setItem(POLLS_PREFIX + scope(), kept);
      } catch {
        // full or disabled: not kept
      }
    },
    forget: () => {
      try {
        store()?.removeItem(POLLS_PREFIX + scope());
      } catch {
        // nothing kept
      }
    },
  };
}

/** One kept poll: its spec (as pollBody sends it), state, the shared counts and every answer (participant, choices). */
interface KeptPoll<Spec = PollSpec> {
  spec: Spec;
  open: boolean;
  myChoices: number[] | null;
  shared: PollCounts | null;
  answers: [string, number[]][];
}

const KEPT_VERSION = 1;

/** A kept poll read back, checked as strictly as one received: null when anything is off. */
function parseKept(x: unknown): KeptPoll | null {
  if (typeof x !== "object" || x === null) return null;
  const k = x as Record<string, unknown>;
  const spec = parsePoll(k.spec);
  if (spec === null || typeof k.open !== "boolean" || !Array.isArray(k.answers) || k.answers.length > ANSWERS_MAX) return null;
  const choices = (c: unknown): number[] | null => {
    const a = parseAnswer(answerBody(spec.id, Array.isArray(c) ? (c as number[]) : []));
    return a !== null && fits(spec, a.choices) ? a.choices : null;
  };
  const answers: [string, number[]][] = [];
  for (const a of k.answers) {
    if (!Array.isArray(a) || a.length !== 2 || typeof a[0] !== "string" || a[0].length === 0 || a[0].length > 128) return null;
    const c = choices(a[1]);
    if (c === null) return null;
    answers.push([a[0], c]);
  }
  const myChoices = k.myChoices === null ? null : choices(k.myChoices);
  if (myChoices === null && k.myChoices !== null) return null;
  let shared: PollCounts | null = null;
  if (k.shared !== null) {
    const sh = typeof k.shared === "object" && k.shared !== undefined ? (k.shared as Record<string, unknown>) : null;
    const r = sh === null ? null : parseResults({ v: POLL_VERSION, poll: spec.id, counts: sh.counts, answered: sh.answered });
    if (r === null || r.counts.length !== spec.options.length) return null;
    shared = { counts: r.counts, answered: r.answered };
  }
  return { spec, open: k.open, myChoices, shared, answers };
}

/** The polls of a meeting, as one client knows them. */
export class Polls {
  private readonly polls = new Map<string, Poll>();
  /** For polls we created: each participant's latest answer. */
  private readonly answers = new Map<string, Map<string, number[]>>();
  /** Whether what the keeper holds was looked at (once we know who we are). */
  private restored = false;

  constructor(
    private readonly self: () => string | null,
    private readonly keeper: PollKeeper | null = null,
  ) {}

  /** Newest last. */
  list(): Poll[] {
    this.restore();
    return [...this.polls.values()];
  }

  get(creator: string, id: string): Poll | undefined {
    this.restore();
    return this.polls.get(key(creator, id));
  }

  /** Polls we created that are still open (re-sent after a new epoch, for newcomers). */
  openMine(): Poll[] {
    return this.list().filter((p) => p.mine && p.open);
  }

  /**
   * Takes back the polls this participant created before a reload, once
   * it knows who it is: only if the keeper holds them for this same
   * participant (a resumed one keeps its ID; a new one forgets them).
   */
  private restore(): void {
    const self = this.self();
    if (this.restored || self === null || this.keeper === null) return;
    this.restored = true;
    const raw = this.keeper.load();
    if (raw === null) return;
    let kept: unknown = null;
    try {
      kept = raw.length <= KEPT_BYTES_MAX ? JSON.parse(raw) : null;
    } catch {
      kept = null;
    }
    const k = kept as { v?: unknown; creator?: unknown; polls?: unknown } | null;
    if (k === null || typeof k !== "object" || k.v !== KEPT_VERSION || k.creator !== self || !Array.isArray(k.polls)) {
      this.keeper.forget();
      return;
    }
    for (const x of k.polls.slice(-KEPT_POLLS_MAX)) {
      const p = parseKept(x);
      if (p === null || this.polls.has(key(self, p.spec.id))) continue;
      this.add({ ...p.spec, creator: self, mine: true, open: p.open, myChoices: p.myChoices, shared: p.shared });
      this.answers.set(p.spec.id, new Map(p.answers));
    }
  }

  /** Keeps our own polls and their answers for a reload: the newest that fit. */
  private keep(): void {
    const self = this.self();
    if (this.keeper === null || self === null) return;
    this.restore();
    const mine: KeptPoll<Record<string, unknown>>[] = [...this.polls.values()]
      .filter((p) => p.mine)
      .slice(-KEPT_POLLS_MAX)
      .map((p) => ({
        spec: pollBody(p),
        open: p.open,
        myChoices: p.myChoices,
        shared: p.shared,
        answers: [...(this.answers.get(p.id) ?? new Map<string, number[]>())],
      }));
    while (mine.length > 0) {
      const s = JSON.stringify({ v: KEPT_VERSION, creator: self, polls: mine });
      if (s.length <= KEPT_BYTES_MAX) {
        this.keeper.save(s);
        return;
      }
      mine.shift();
    }
    this.keeper.forget();
  }

  /** A poll we create (the caller sends pollBody to everyone). */
  create(spec: PollSpec): Poll | null {
    const self = this.self();
    const checked = parsePoll(pollBody(spec));
    if (self === null || checked === null || this.get(self, spec.id) !== undefined) return null;
    this.restore();
    const p: Poll = { ...checked, creator: self, mine: true, open: true, myChoices: null, shared: null };
    this.add(p);
    this.answers.set(p.id, new Map());
    this.keep();
    return p;
  }

  /** A poll from `sender`; only hosts and co-hosts may create one. Returns whether it is new. */
  received(body: unknown, sender: string, senderIsHost: boolean): boolean {
    if (!senderIsHost) return false;
    const spec = parsePoll(body);
    if (spec === null || sender === this.self() || this.get(sender, spec.id) !== undefined) return false;
    this.add({ ...spec, creator: sender, mine: false, open: true, myChoices: null, shared: null });
    return true;
  }

  /**
   * Records our own answer before it is sent; the choices it returns are
   * the ones to send (null: the poll is closed, unknown, or the choices do
   * not fit it).
   */
  answer(creator: string, id: string, choices: readonly number[]): number[] | null {
    const p = this.get(creator, id);
    const sorted = [...new Set(choices)].sort((x, y) => x - y);
    if (!p?.open || !fits(p, sorted)) return null;
    p.myChoices = sorted;
    if (p.mine) {
      this.answers.get(p.id)!.set(this.self() ?? "", sorted);
      this.keep();
    }
    return sorted;
  }

  /** An answer sent to us by `sender`; `sealed` says whether it was sealed to us alone. Returns whether it counted. */
  answerReceived(body: unknown, sender: string, sealed: boolean): boolean {
    const self = this.self();
    const a = parseAnswer(body);
    if (!sealed || self === null || a === null) return false;
    const p = this.get(self, a.poll);
    if (!p?.mine || !p.open || !fits(p, a.choices)) return false;
    const byPerson = this.answers.get(p.id)!;
    if (!byPerson.has(sender) && byPerson.size >= ANSWERS_MAX) return false;
    byPerson.set(sender, a.choices);
    this.keep();
    return true;
  }

  /** We close a poll we created. */
  close(id: string): boolean {
    const self = this.self();
    const p = self === null ? undefined : this.get(self, id);
    if (!p?.mine || !p.open) return false;
    p.open = false;
    this.keep();
    return true;
  }

  /** A close from `sender`: only the poll's creator may. */
  closeReceived(body: unknown, sender: string): boolean {
    const c = parseClose(body);
    const p = c ? this.get(sender, c.poll) : undefined;
    if (!p || p.mine || !p.open) return false;
    p.open = false;
    return true;
  }

  /** Results shared by `sender`: only the poll's creator may, with a count per option. */
  resultsReceived(body: unknown, sender: string): boolean {
    const r = parseResults(body);
    const p = r ? this.get(sender, r.poll) : undefined;
    if (!r || !p || p.mine || r.counts.length !== p.options.length) return false;
    p.open = false;
    p.shared = { counts: r.counts, answered: r.answered };
    return true;
  }

  /** The live tally of a poll we created (null for others' polls). Names only when not anonymous. */
  tally(id: string): Tally | null {
    const self = this.self();
    const p = self === null ? undefined : this.get(self, id);
    const byPerson = this.answers.get(id);
    if (!p?.mine || !byPerson) return null;
    const counts = p.options.map(() => 0);
    const voters: string[][] = p.options.map(() => []);
    for (const [who, choices] of byPerson) {
      for (const c of choices) {
        counts[c]!++;
        voters[c]!.push(who);
      }
    }
    return { counts, answered: byPerson.size, voters: p.anonymous ? null : voters };
  }

  /** We share a closed poll's counts: what to send (never names), and our own copy as shared. */
  share(id: string): PollCounts | null {
    const t = this.tally(id);
    const self = this.self();
    const p = self === null ? undefined : this.get(self, id);
    if (!t || !p || p.open) return null;
    p.shared = { counts: t.counts, answered: t.answered };
    this.keep();
    return p.shared;
  }

  private add(p: Poll): void {
    this.polls.set(key(p.creator, p.id), p);
    while (this.polls.size > POLLS_KEPT) {
      const [oldest] = this.polls.keys();
      const gone = this.polls.get(oldest!)!;
      this.polls.delete(oldest!);
      if (gone.mine) this.answers.delete(gone.id);
    }
  }
}
