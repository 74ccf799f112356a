// Breakout rooms, the client's side of docs/protocol.md "Breakout rooms":
// the plans a host makes, the messages that carry them, and the encrypted
// group each room has. The server runs the rooms; moving is reconnecting
// with the token it hands out (meeting-screen.ts does the move).

/** The most rooms, and the longest countdown, the server accepts. */
export const MAX_ROOMS = 50;
export const MAX_COUNTDOWN_S = 60;

/** One room of a plan: its name and who goes there (participant IDs). */
export interface RoomPlan {
  name: string;
  participants: string[];
}

/** Where the server sends this participant: a breakout room (1…) or the main room (0), and the token that lets it in. */
export interface Move {
  room: number;
  name: string;
  seconds: number;
  token: string;
}

/** Who is where, as hosts and co-hosts are told. */
export interface BreakoutStatus {
  open: boolean;
  closing: boolean;
  main: { id: string; name: string }[];
  rooms: { room: number; name: string; participants: { id: string; name: string }[] }[];
}

export const NO_BREAKOUTS: BreakoutStatus = { open: false, closing: false, main: [], rooms: [] };

/** Default room names: "Room 1", "Room 2"… */
export function roomNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `Room ${i + 1}`);
}

/**
 * Deals people into n rooms at random, as evenly as possible (sizes differ
 * by at most one). `random` returns [0, 1) (tests pass their own).
 */
export function randomPlan(ids: readonly string[], names: readonly string[], random: () => number = Math.random): RoomPlan[] {
  const shuffled = [...ids];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const plan: RoomPlan[] = names.map((name) => ({ name, participants: [] }));
  for (const [i, id] of shuffled.entries()) plan[i % plan.length]!.participants.push(id);
  return plan;
}

/**
 * A plan from a choice per person (room index 1…n, or 0 to stay in the
 * main room).
 */
export function manualPlan(choices: ReadonlyMap<string, number>, names: readonly string[]): RoomPlan[] {
  const plan: RoomPlan[] = names.map((name) => ({ name, participants: [] }));
  for (const [id, room] of choices) if (room >= 1 && room <= plan.length) plan[room - 1]!.participants.push(id);
  return plan;
}

/** What is wrong with a plan before it is sent, or null. */
export function planProblem(plan: readonly RoomPlan[], seconds: number): string | null {
  if (plan.length < 1 || plan.length > MAX_ROOMS) return `Open 1 to ${MAX_ROOMS} rooms.`;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_COUNTDOWN_S) return `The countdown is 0 to ${MAX_COUNTDOWN_S} seconds.`;
  const seen = new Set<string>();
  for (const r of plan) {
    const name = r.name.trim();
    if (name === "" || [...name].length > 64) return "Give each room a name of 1 to 64 characters.";
    for (const id of r.participants) {
      if (seen.has(id)) return "Someone is in two rooms.";
      seen.add(id);
    }
  }
  if (seen.size === 0) return "Put at least one person in a room.";
  return null;
}

/** The client message that opens the rooms. */
export function openMessage(plan: readonly RoomPlan[], seconds: number): { type: "breakout_open"; rooms: RoomPlan[]; seconds: number } {
  return { type: "breakout_open", rooms: plan.map((r) => ({ name: r.name.trim(), participants: [...r.participants] })), seconds };
}

/**
 * The meeting ID an encrypted group is named after: the meeting's own for
 * the main room, one per breakout room, so each room has a group (keys,
 * security code) of its own.
 */
export function groupMeetingId(meetingId: string, room: number): string {
  return room === 0 ? meetingId : `${meetingId}/breakout/${room}`;
}
