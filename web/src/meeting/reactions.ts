// Reactions (issue 14): a participant sends one emoji from a fixed set to
// everyone, as an MLS application message of kind "reaction"; it shows for
// a few seconds over the sender's tile. Schema, version 1:
//
//   {"v": 1, "emoji": "👍"}
//
// Anything else (another version, an emoji outside the set, extra bulk) is
// dropped. Reactions are rate-limited per sender: by the sender's own
// client, again by every receiver, and by the server per socket
// (internal/signal/kinds.go), so a client that ignores the limit floods
// nobody's screen.

/** The application-message kind (what the server sees). */
export const REACTION_KIND = "reaction";
export const REACTION_VERSION = 1;
/** The emoji one can send; nothing else is shown. */
export const REACTIONS = ["👍", "👏", "😂", "❤️", "🎉", "😮"] as const;
export type Reaction = (typeof REACTIONS)[number];
/** Names for screen readers and tooltips. */
export const REACTION_LABELS: Record<Reaction, string> = {
  "👍": "Thumbs up",
  "👏": "Clap",
  "😂": "Laughing",
  "❤️": "Heart",
  "🎉": "Celebrate",
  "😮": "Surprised",
};
/** How long a reaction stays over a tile. */
export const REACTION_SHOW_MS = 4000;
/** Per sender: at most 3 in any second and 20 in any minute. */
export const REACTION_LIMITS: readonly Window[] = [
  { count: 3, ms: 1000 },
  { count: 20, ms: 60_000 },
];
/** A reaction body is tiny; a bigger one is refused unread. */
const BODY_MAX = 64;

export interface ReactionBody {
  v: typeof REACTION_VERSION;
  emoji: Reaction;
}

export function isReaction(s: unknown): s is Reaction {
  return typeof s === "string" && (REACTIONS as readonly string[]).includes(s);
}

export function reactionBody(emoji: Reaction): ReactionBody {
  return { v: REACTION_VERSION, emoji };
}

/** The reaction a received body carries, or null if it is not a valid version-1 reaction. */
export function parseReaction(body: unknown): Reaction | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  if (JSON.stringify(body).length > BODY_MAX) return null;
  const b = body as { v?: unknown; emoji?: unknown };
  if (b.v !== REACTION_VERSION || !isReaction(b.emoji)) return null;
  return b.emoji;
}

/** At most `count` events in any `ms` milliseconds. */
export interface Window {
  count: number;
  ms: number;
}

/**
 * Sliding-window rate limits per key (a sender): an event is allowed only
 * if every window has room, and only allowed events count. Keys that have
 * been quiet for the longest window are forgotten.
 */
export class RateLimiter {
  private readonly times = new Map<string, number[]>();
  private readonly longest: number;

  constructor(private readonly windows: readonly Window[]) {
    this.longest = Math.max(...windows.map((w) => w.ms));
  }

  allow(key: string, now: number): boolean {
    const kept = (this.times.get(key) ?? []).filter((t) => now - t < this.longest);
    for (const w of this.windows) {
      if (kept.filter((t) => now - t < w.ms).length >= w.count) {
        this.times.set(key, kept);
        return false;
      }
    }
    kept.push(now);
    this.times.set(key, kept);
    if (this.times.size > 1000) this.sweep(now);
    return true;
  }

  private sweep(now: number): void {
    for (const [k, ts] of this.times) if (ts.every((t) => now - t >= this.longest)) this.times.delete(k);
  }
}
