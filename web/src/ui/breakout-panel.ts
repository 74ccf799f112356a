// The host's breakout rooms: a dialog to plan and open them (how many,
// assigned at random or by hand, the countdown), and, while they are open,
// one that shows who is where, moves people and closes the rooms.

import { manualPlan, planProblem, randomPlan, roomNames, type BreakoutStatus, type RoomPlan } from "../meeting/breakouts.js";
import { openDialog } from "./dialog.js";
import { el, replace } from "./dom.js";

export interface BreakoutActions {
  open(plan: RoomPlan[], seconds: number): void;
  /** Moves someone to a room (0: the main room). */
  move(participant: string, room: number): void;
  close(seconds: number): void;
}

const COUNTDOWNS = [0, 10, 30, 60];

function countdownSelect(id: string, chosen: number): HTMLSelectElement {
  const s = el("select", { id });
  for (const c of COUNTDOWNS) s.appendChild(el("option", { text: c === 0 ? "At once" : `In ${c} seconds`, props: { value: String(c) } }));
  s.value = String(chosen);
  return s;
}

function field(id: string, label: string, control: HTMLElement): HTMLElement {
  return el("div", { class: "field" }, el("label", { text: label, attrs: { for: id } }), control);
}

/** Plans and opens breakout rooms for `people` (the main room's participants but the host). */
export async function openBreakoutPlanner(host: HTMLElement, people: readonly { id: string; name: string }[], actions: BreakoutActions): Promise<void> {
  const count = el("input", { id: "breakout-count", attrs: { type: "number", min: "1", max: "50", value: String(Math.min(Math.max(2, Math.ceil(people.length / 3)), 50)) } });
  const byHand = el("input", { id: "breakout-by-hand", attrs: { type: "checkbox" } });
  const countdown = countdownSelect("breakout-countdown", 10);
  const assignments = el("ul", { id: "breakout-assign", class: "breakout-assign", attrs: { hidden: true } });
  const error = el("p", { id: "breakout-error", class: "form-error", attrs: { role: "alert" } });
  const n = (): number => Math.min(Math.max(Math.trunc(Number(count.value)) || 1, 1), 50);
  const choices = new Map<string, number>();
  const drawAssignments = (): void => {
    assignments.hidden = !byHand.checked;
    replace(
      assignments,
      ...people.map((p, i) => {
        const s = el("select", { attrs: { "data-participant": p.id, "aria-label": `Room for ${p.name}` } });
        s.appendChild(el("option", { text: "Main room", props: { value: "0" } }));
        roomNames(n()).forEach((name, r) => s.appendChild(el("option", { text: name, props: { value: String(r + 1) } })));
        const chosen = choices.get(p.id) ?? (i % n()) + 1;
        choices.set(p.id, Math.min(chosen, n()));
        s.value = String(choices.get(p.id));
        s.addEventListener("change", () => choices.set(p.id, Number(s.value)));
        return el("li", {}, el("span", { text: p.name }), s);
      }),
    );
  };
  count.addEventListener("change", drawAssignments);
  byHand.addEventListener("change", drawAssignments);
  drawAssignments();
  let plan: RoomPlan[] = [];
  const ok = await openDialog(host, {
    id: "breakout-planner",
    title: "Breakout rooms",
    body: [
      field("breakout-count", "Rooms", count),
      el("div", { class: "field checkbox" }, byHand, el("label", { text: "Assign people by hand (otherwise at random)", attrs: { for: "breakout-by-hand" } })),
      assignments,
      field("breakout-countdown", "Move people", countdown),
      error,
    ],
    confirm: { id: "breakout-open", label: "Open rooms" },
    validate: () => {
      const names = roomNames(n());
      plan = byHand.checked ? manualPlan(choices, names) : randomPlan(people.map((p) => p.id), names);
      const problem = planProblem(plan, Number(countdown.value));
      error.textContent = problem ?? "";
      return problem === null;
    },
  });
  if (ok) actions.open(plan, Number(countdown.value));
}

/** Shows who is where while rooms are open; moves apply at once. */
export async function openBreakoutStatus(host: HTMLElement, status: BreakoutStatus, actions: BreakoutActions): Promise<void> {
  const targets = [{ room: 0, name: "Main room" }, ...status.rooms.map((r) => ({ room: r.room, name: r.name }))];
  const person = (p: { id: string; name: string }, room: number): HTMLLIElement => {
    const s = el("select", { attrs: { "data-participant": p.id, "aria-label": `Move ${p.name}` } });
    for (const t of targets) s.appendChild(el("option", { text: t.name, props: { value: String(t.room) } }));
    s.value = String(room);
    s.addEventListener("change", () => actions.move(p.id, Number(s.value)));
    return el("li", {}, el("span", { text: p.name }), s);
  };
  const group = (title: string, room: number, ps: readonly { id: string; name: string }[]): HTMLElement =>
    el("section", { class: "breakout-room", attrs: { "data-room": String(room) } }, el("h3", { text: `${title} (${ps.length})` }), el("ul", {}, ...ps.map((p) => person(p, room))));
  const countdown = countdownSelect("breakout-close-countdown", 10);
  const ok = await openDialog(host, {
    id: "breakout-status",
    title: status.closing ? "Breakout rooms (closing)" : "Breakout rooms",
    body: [group("Main room", 0, status.main), ...status.rooms.map((r) => group(r.name, r.room, r.participants)), field("breakout-close-countdown", "Bring everyone back", countdown)],
    confirm: { id: "breakout-close", label: "Close rooms", danger: true },
    cancelLabel: "Done",
  });
  if (ok && !status.closing) actions.close(Number(countdown.value));
}
