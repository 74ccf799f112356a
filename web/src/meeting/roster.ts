// Everyone in the meeting, in join order, as the server last described them.

import type { Participant } from "./protocol.js";

export class Roster {
  private readonly byId = new Map<string, Participant>();

  /** Replaces everyone (a `welcome`). */
  reset(list: readonly Participant[]): void {
    this.byId.clear();
    for (const p of list) this.byId.set(p.id, p);
  }

  /** Adds a participant or updates one in place, keeping their position. */
  upsert(p: Participant): void {
    this.byId.set(p.id, p);
  }

  remove(id: string): boolean {
    return this.byId.delete(id);
  }

  get(id: string): Participant | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Participants in join order. */
  list(): Participant[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}

/** Up to two initials for an avatar: "Ada Lovelace" → "AL", "ada" → "A". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter((w) => w !== "");
  const first = (w: string | undefined) => (w ? [...w][0]!.toLocaleUpperCase() : "");
  if (words.length === 0) return "?";
  if (words.length === 1) return first(words[0]);
  return first(words[0]) + first(words[words.length - 1]);
}

/** A stable hue (0–359) for a participant's avatar, from their ID. */
export function hueOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % 360;
}
