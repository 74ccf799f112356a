// The host's breakout rooms: a dialog to plan and open them (how many,
// assigned at random or by hand, the countdown), and, while they are open,
// one that shows who is where, moves people, broadcasts a message to all
// rooms and closes the rooms.

import { manualPlan, planProblem, randomPlan, roomNames, type BreakoutStatus, type RoomPlan } from "../meeting/breakouts.js";
import { openDialog } from "./dialog.js";
import { el, replace } from "./dom.js";

export interface BreakoutActions {
  open(plan: RoomPlan[], seconds: number): void;
  /** Moves someone to a room (0: the main room). */
  move(participant: string, room: number): void;
  close(seconds: number): void;
  /** Sends a message to everyone in every room: null when sent, else what is wrong. */
  broadcast(text: string): Promise<string | null>;
  /** Whether a broadcast is end-to-end encrypted, said under its field. */
  readonly broadcastHint: string;
}

/** The status dialog's "Broadcast a message to all rooms" field and its button. */
function broadcastField(actions: BreakoutActions): { root: HTMLElement; setOpen(open: boolean): void } {
  const text = el("textarea", { id: "breakout-broadcast-text", attrs: { maxlength: "1000", rows: "2" } });
  const send = el("button", { id: "breakout-broadcast-send", class: "button", text: "Send to all rooms", attrs: { type: "button" } });
  const status = el("p", { id: "breakout-broadcast-status", class: "hint", attrs: { role: "status" } });
  send.addEventListener("click", () => {
    send.disabled = true;
    void actions.broadcast(text.value).then((problem) => {
      send.disabled = false;
      status.textContent = problem ?? "Sent to everyone in every room.";
      if (problem === null) text.value = "";
    });
  });
  const root = el(
    "div",
    { class: "field breakout-broadcast" },
    el("label", { text: "Broadcast a message to all rooms", attrs: { for: "breakout-broadcast-text" } }),
    text,
    el("p", { class: "hint", text: actions.broadcastHint }),
    send,
    status,
  );
  return {
    root,
    setOpen: (open) => {
      root.hidden = !open;
    },
  };
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
        for (const [r, name] of roomNames(n()).entries()) s.appendChild(el("option", { text: name, props: { value: String(r + 1) } }));
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

/** The open status dialog: `update` redraws it with who is where now; `done` resolves when it closes. */
export interface BreakoutStatusView {
  update(status: BreakoutStatus): void;
  readonly done: Promise<void>;
}

/**
 * Shows who is where while rooms are open; moves apply at once. The lists
 * follow the `breakouts` messages while the dialog is open: a person's
 * select is kept (moved to their new room, not drawn anew), so a select
 * that has focus keeps it.
 */
export function openBreakoutStatus(host: HTMLElement, first: BreakoutStatus, actions: BreakoutActions): BreakoutStatusView {
  // The rooms are fixed while they are open; moves change who is in which.
  const targets = [{ room: 0, name: "Main room" }, ...first.rooms.map((r) => ({ room: r.room, name: r.name }))];
  const rows = new Map<string, { li: HTMLLIElement; name: HTMLSpanElement; select: HTMLSelectElement }>();
  const row = (p: { id: string; name: string }) => {
    let r = rows.get(p.id);
    if (!r) {
      const select = el("select", { attrs: { "data-participant": p.id } });
      for (const t of targets) select.appendChild(el("option", { text: t.name, props: { value: String(t.room) } }));
      select.addEventListener("change", () => actions.move(p.id, Number(select.value)));
      const name = el("span");
      r = { li: el("li", { attrs: { "data-participant": p.id } }, name, select), name, select };
      rows.set(p.id, r);
    }
    r.name.textContent = p.name;
    r.select.setAttribute("aria-label", `Move ${p.name}`);
    return r;
  };
  const sections = targets.map((t) => {
    const heading = el("h3");
    const list = el("ul");
    return { ...t, heading, list, root: el("section", { class: "breakout-room", attrs: { "data-room": String(t.room) } }, heading, list) };
  });
  const countdown = countdownSelect("breakout-close-countdown", 10);
  const note = el("p", { id: "breakout-status-note", class: "hint", attrs: { role: "status" } });
  const broadcast = broadcastField(actions);
  let status = first;

  const draw = (s: BreakoutStatus): void => {
    status = s;
    const focused = document.activeElement;
    const hadFocus = focused instanceof HTMLElement && dialog.contains(focused);
    const seen = new Set<string>();
    for (const sec of sections) {
      const people = sec.room === 0 ? s.main : (s.rooms.find((r) => r.room === sec.room)?.participants ?? []);
      sec.heading.textContent = `${sec.name} (${people.length})`;
      people.forEach((p, i) => {
        seen.add(p.id);
        const r = row(p);
        // The person's room as the server says, unless they are choosing one right now.
        if (r.select !== focused || r.li.parentElement !== sec.list) r.select.value = String(sec.room);
        // Only rows that moved are touched: a select taken out of the page loses focus and closes.
        if (sec.list.children[i] !== r.li) sec.list.insertBefore(r.li, sec.list.children[i] ?? null);
      });
      while (sec.list.children.length > people.length) sec.list.lastElementChild!.remove();
    }
    for (const [id, r] of rows) {
      if (!seen.has(id)) {
        r.li.remove();
        rows.delete(id);
      }
    }
    // A select that moved to another room went out of the page for a moment: give its focus back;
    // if its person left the meeting, keep focus in the dialog.
    if (hadFocus && document.activeElement !== focused) {
      if (focused.isConnected) focused.focus();
      else dialog.querySelector<HTMLElement>("select:not(:disabled), button")?.focus();
    }
    const closed = !s.open;
    title.textContent = closed ? "Breakout rooms (closed)" : s.closing ? "Breakout rooms (closing)" : "Breakout rooms";
    note.textContent = closed ? "The rooms are closed: everyone is back in the main room." : s.closing ? "The rooms are closing: everyone is on the way back." : "";
    countdown.disabled = closed || s.closing;
    broadcast.setOpen(!closed && !s.closing);
    for (const r of rows.values()) r.select.disabled = closed;
    const confirm = dialog.querySelector<HTMLButtonElement>("#breakout-close");
    if (confirm) confirm.disabled = closed || s.closing;
  };

  const done = openDialog(host, {
    id: "breakout-status",
    title: "Breakout rooms",
    body: [...sections.map((sec) => sec.root), note, broadcast.root, field("breakout-close-countdown", "Bring everyone back", countdown)],
    confirm: { id: "breakout-close", label: "Close rooms", danger: true },
    cancelLabel: "Done",
  }).then((ok) => {
    if (ok && status.open && !status.closing) actions.close(Number(countdown.value));
  });
  const dialog = host.querySelector<HTMLDialogElement>("#breakout-status")!;
  const title = dialog.querySelector<HTMLElement>("#breakout-status-title")!;
  draw(first);
  return { update: draw, done };
}
