// Polls on screen (issue 14): the item in the controls bar's "More" menu, the polls panel
// (each poll as a card: for a participant, the question and a form to
// answer or change the answer until it closes; for its creator, the live
// counts, with names unless it is anonymous, and buttons to close it and
// share the results; shared results for everyone), and the dialog in
// which a host writes a poll. meeting/polls.ts keeps the rules.

import { OPTIONS_MAX, OPTION_MAX, QUESTION_MAX, pollProblem, type Poll, type PollCounts, type PollSpec, type Tally } from "../meeting/polls.js";
import { openDialog } from "./dialog.js";
import { el, replace, show } from "./dom.js";
import { checkbox, field } from "./forms.js";
import { icon } from "./icons.js";
import type { MenuItem } from "./menu.js";

export interface PollsActions {
  create(spec: Omit<PollSpec, "id">): void;
  answer(p: Poll, choices: number[]): void;
  close(p: Poll): void;
  share(p: Poll): void;
  toggle(): void;
}

export interface PollsState {
  polls: readonly Poll[];
  tally(p: Poll): Tally | null;
  name(participant: string): string;
  moderator: boolean;
}

export class PollsPanel {
  readonly root: HTMLElement;
  private readonly list: HTMLDivElement;
  private readonly empty: HTMLParagraphElement;
  private readonly newPoll: HTMLButtonElement;
  /** Open polls this person has not answered yet. */
  private unanswered = 0;
  private readonly cards = new Map<string, PollCard>();

  constructor(private readonly host: HTMLElement, private readonly actions: PollsActions) {
    this.newPoll = el("button", { id: "new-poll", class: "button small primary", text: "New poll", attrs: { type: "button" }, on: { click: () => void this.compose() } });
    this.empty = el("p", { class: "hint", text: "No polls yet." });
    this.list = el("div", { class: "polls-list" });
    const close = el(
      "button",
      { class: "icon-button", attrs: { type: "button", "aria-label": "Close the polls", title: "Close" }, on: { click: () => actions.toggle() } },
      icon("close"),
    );
    this.root = el(
      "aside",
      { id: "polls", class: "polls-panel", attrs: { "aria-labelledby": "polls-title", hidden: true } },
      el("div", { class: "side-panel-header" }, el("h2", { id: "polls-title", text: "Polls" }), close),
      el("div", { class: "polls-body" }, this.newPoll, this.empty, this.list, el("p", { class: "hint", text: "Polls are end-to-end encrypted; answers go to the poll's host only." })),
    );
    this.root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && !ev.defaultPrevented) actions.toggle();
    });
  }

  get open(): boolean {
    return !this.root.hidden;
  }

  setOpen(open: boolean): void {
    show(this.root, open);
  }

  /** Open polls this person has not answered yet (a badge on the menu and its item). */
  get waiting(): number {
    return this.unanswered;
  }

  /** The "More" menu's item that shows or hides the panel. */
  menuItem(): MenuItem {
    return {
      action: "polls",
      id: "toggle-polls",
      label: "Polls",
      icon: icon("poll"),
      checked: this.open,
      ...(this.unanswered > 0 ? { badge: String(this.unanswered), title: `Polls (${this.unanswered} to answer)` } : {}),
      run: () => this.actions.toggle(),
    };
  }

  render(s: PollsState): void {
    show(this.newPoll, s.moderator);
    show(this.empty, s.polls.length === 0);
    const seen = new Set<string>();
    const roots: HTMLElement[] = [];
    for (const p of [...s.polls].reverse()) {
      const k = `${p.creator}/${p.id}`;
      let card = this.cards.get(k);
      if (!card) {
        card = new PollCard(p, this.actions);
        this.cards.set(k, card);
      }
      card.update(p, p.mine ? s.tally(p) : null, s.name);
      seen.add(k);
      roots.push(card.root);
    }
    for (const [k, c] of this.cards) {
      if (!seen.has(k)) {
        c.root.remove();
        this.cards.delete(k);
      }
    }
    const current = [...this.list.children];
    if (current.length !== roots.length || current.some((c, i) => c !== roots[i])) replace(this.list, ...roots);
    this.unanswered = s.polls.filter((p) => !p.mine && p.open && p.myChoices === null).length;
  }

  /** The dialog in which a host writes a poll. */
  private async compose(): Promise<void> {
    const question = field({ id: "poll-question", label: "Question", attrs: { maxlength: QUESTION_MAX } });
    const options: ReturnType<typeof field>[] = [];
    const optionsBox = el("div", { class: "poll-options-edit" });
    const more = el("button", { id: "poll-add-option", class: "button small", text: "Add an option", attrs: { type: "button" } });
    const addOption = () => {
      const f = field({ id: `poll-option-${options.length}`, label: `Option ${options.length + 1}`, attrs: { maxlength: OPTION_MAX } });
      options.push(f);
      optionsBox.appendChild(f.root);
      show(more, options.length < OPTIONS_MAX);
    };
    more.addEventListener("click", () => {
      addOption();
      options[options.length - 1]!.input.focus();
    });
    addOption();
    addOption();
    const multiple = checkbox("poll-multiple", "Allow more than one choice", "");
    const anonymous = checkbox("poll-anonymous", "Anonymous", "Only the counts are shown, to you too: never who chose what.");
    const problem = el("p", { class: "form-error", attrs: { role: "alert" } });
    const ok = await openDialog(this.host, {
      id: "poll-dialog",
      title: "New poll",
      body: [question.root, optionsBox, more, multiple.root, anonymous.root, problem],
      confirm: { id: "poll-create", label: "Start the poll" },
      validate: () => {
        const p = pollProblem(question.input.value, options.map((o) => o.input.value));
        problem.textContent = p ?? "";
        return p === null;
      },
    });
    if (!ok) return;
    this.actions.create({
      question: question.input.value.trim(),
      options: options.map((o) => o.input.value.trim()).filter((o) => o !== ""),
      multiple: multiple.input.checked,
      anonymous: anonymous.input.checked,
    });
  }
}

/** One poll. */
class PollCard {
  readonly root: HTMLElement;
  private readonly status: HTMLParagraphElement;
  private readonly form: HTMLFormElement;
  private readonly submit: HTMLButtonElement;
  private readonly inputs: HTMLInputElement[];
  private readonly tallyBox: HTMLDivElement;
  private readonly resultsBox: HTMLDivElement;
  private readonly closeButton: HTMLButtonElement;
  private readonly shareButton: HTMLButtonElement;
  private poll: Poll;

  constructor(p: Poll, actions: PollsActions) {
    this.poll = p;
    const kind = `${p.multiple ? "Choose any" : "Choose one"}${p.anonymous ? " · anonymous" : ""}`;
    this.inputs = p.options.map((_, i) =>
      el("input", { class: "poll-choice", attrs: { type: p.multiple ? "checkbox" : "radio", name: `poll-${p.creator}-${p.id}`, value: String(i) } }),
    );
    this.submit = el("button", { class: "button small primary poll-submit", text: "Answer", attrs: { type: "submit" } });
    this.form = el(
      "form",
      { class: "poll-form" },
      el("fieldset", {}, el("legend", { class: "visually-hidden", text: p.question }), ...p.options.map((o, i) => el("label", { class: "poll-option" }, this.inputs[i]!, el("span", { text: o })))),
      this.submit,
    );
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const choices = this.inputs.flatMap((inp, i) => (inp.checked ? [i] : []));
      if (choices.length > 0) actions.answer(this.poll, choices);
    });
    this.tallyBox = el("div", { class: "poll-tally", attrs: { "aria-live": "polite" } });
    this.resultsBox = el("div", { class: "poll-results" });
    this.closeButton = el("button", { class: "button small poll-close", text: "Close the poll", attrs: { type: "button" }, on: { click: () => actions.close(this.poll) } });
    this.shareButton = el("button", { class: "button small primary poll-share", text: "Share the results", attrs: { type: "button" }, on: { click: () => actions.share(this.poll) } });
    this.status = el("p", { class: "poll-status hint" });
    this.root = el(
      "article",
      { class: "poll", attrs: { "data-poll": p.id, "data-creator": p.creator, "aria-label": p.question } },
      el("h3", { class: "poll-question", text: p.question }),
      el("p", { class: "poll-kind hint", text: kind }),
      this.form,
      this.tallyBox,
      this.resultsBox,
      this.status,
      el("div", { class: "poll-actions" }, this.closeButton, this.shareButton),
    );
  }

  update(p: Poll, tally: Tally | null, name: (id: string) => string): void {
    this.poll = p;
    this.root.dataset.open = p.open ? "true" : "false";
    this.root.dataset.answered = p.myChoices !== null ? "true" : "false";
    const answering = p.open;
    show(this.form, answering || p.myChoices !== null);
    for (const inp of this.inputs) inp.disabled = !answering;
    this.submit.hidden = !answering;
    this.submit.textContent = p.myChoices === null ? "Answer" : "Change the answer";
    this.status.textContent = p.open ? (p.myChoices !== null ? "Your answer was sent. You can change it until the poll closes." : "") : "The poll is closed.";
    show(this.closeButton, p.mine && p.open);
    show(this.shareButton, p.mine && !p.open && p.shared === null);
    if (tally) replace(this.tallyBox, counts(p, tally, tally.voters, name, "poll-count"));
    show(this.tallyBox, tally !== null);
    if (p.shared) replace(this.resultsBox, el("h4", { text: "Results" }), counts(p, p.shared, null, name, "poll-result"));
    show(this.resultsBox, p.shared !== null);
  }
}

/** Counts per option as bars; with who chose each option when `voters` is given. */
function counts(p: Poll, c: PollCounts, voters: string[][] | null, name: (id: string) => string, cls: string): HTMLElement {
  return el(
    "div",
    { attrs: { "data-answered": c.answered } },
    el("p", { class: "poll-answered", text: c.answered === 1 ? "1 person answered" : `${c.answered} people answered` }),
    el(
      "ul",
      { class: "poll-bars" },
      ...p.options.map((o, i) => {
        const n = c.counts[i] ?? 0;
        const bar = el("span", { class: "poll-bar" });
        bar.style.setProperty("--share", c.answered > 0 ? String(n / c.answered) : "0");
        return el(
          "li",
          { class: cls, attrs: { "data-option": i, "data-count": n } },
          el("span", { class: "poll-option-text", text: o }),
          el("span", { class: "poll-option-count", text: String(n) }),
          bar,
          voters && voters[i]!.length > 0 ? el("span", { class: "poll-voters hint", text: voters[i]!.map(name).join(", ") }) : null,
        );
      }),
    ),
  );
}
