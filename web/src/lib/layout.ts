// The meeting's layout, as pure functions: how many columns and rows make
// the gallery's tiles largest, which tiles a page holds, and which tile is
// large in speaker view (a spotlight for everyone, else one's own pin, else
// the active speaker).

export interface Grid {
  cols: number;
  rows: number;
}

/**
 * The grid for n tiles of the given aspect ratio (width / height) in a box of
 * width × height pixels with `gap` pixels between tiles, chosen so the tiles
 * are as large as possible.
 */
export function bestGrid(n: number, width: number, height: number, aspect = 16 / 9, gap = 8): Grid {
  if (n <= 0) return { cols: 1, rows: 1 };
  if (width <= 0 || height <= 0) return { cols: Math.ceil(Math.sqrt(n)), rows: Math.ceil(n / Math.ceil(Math.sqrt(n))) };
  let best: Grid = { cols: 1, rows: n };
  let bestWidth = -1;
  // From many columns to few, and a layout must be clearly (5 %) better to
  // win: near-ties go to side-by-side tiles, which crop less of a camera
  // picture than wide cells stacked on top of each other.
  for (let cols = n; cols >= 1; cols--) {
    const rows = Math.ceil(n / cols);
    const cellW = (width - gap * (cols - 1)) / cols;
    const cellH = (height - gap * (rows - 1)) / rows;
    if (cellW <= 0 || cellH <= 0) continue;
    const tileW = Math.min(cellW, cellH * aspect);
    if (tileW > bestWidth * 1.05) {
      bestWidth = tileW;
      best = { cols, rows };
    }
  }
  return best;
}

/** The most tiles on one gallery page (people beyond it are on later pages, and receive nothing). */
export const PAGE_SIZE = 25;

export interface Page {
  /** The page shown, 0-based, clamped to the pages there are. */
  page: number;
  pages: number;
  /** The indices of the tiles on it: [start, end). */
  start: number;
  end: number;
}

/** Page `page` of `count` tiles, `size` a page. */
export function pageOf(count: number, page: number, size = PAGE_SIZE): Page {
  const per = Math.max(1, Math.floor(size));
  const pages = Math.max(1, Math.ceil(Math.max(0, count) / per));
  const p = Math.min(pages - 1, Math.max(0, Math.floor(Number.isFinite(page) ? page : 0)));
  return { page: p, pages, start: p * per, end: Math.min(count, (p + 1) * per) };
}

export type LayoutMode = "gallery" | "speaker";

export interface ArrangeInput {
  /** The people tiles' keys, in order (one's own first). */
  keys: readonly string[];
  /** The key of one's own tile (never chosen as the speaker by itself). */
  self: string;
  /** What the person chose in the controls bar. */
  mode: LayoutMode;
  /** A participant a host put in the spotlight for everyone (a tile key), or null. */
  spotlight: string | null;
  /** One's own pin (a tile key), or null. */
  pinned: string | null;
  /** The active speaker (a tile key), or null. */
  speaker: string | null;
  /** There are screen shares, which then take the large place. */
  screens: boolean;
  page: number;
  pageSize?: number;
}

export interface Arrangement {
  /** What is shown: a grid, or one large tile beside a strip. */
  mode: LayoutMode;
  /** The large tile in speaker view (null in the gallery, or when a screen share takes the place). */
  large: string | null;
  /** Why that tile is large. */
  reason: "spotlight" | "pin" | "speaker" | null;
  /** The other tiles shown (the grid, or the strip), this page's. */
  shown: string[];
  page: Page;
}

/**
 * Which tiles are shown where. A spotlight overrides the layout for
 * everyone; a pin does for oneself; both turn the gallery into speaker
 * view. In speaker view the large tile is the active speaker, else the
 * first other participant, else oneself. A key not among `keys` (someone
 * who left) counts as none.
 */
export function arrange(i: ArrangeInput): Arrangement {
  const has = (k: string | null): k is string => k !== null && i.keys.includes(k);
  let large: string | null = null;
  let reason: Arrangement["reason"] = null;
  if (has(i.spotlight)) [large, reason] = [i.spotlight, "spotlight"];
  else if (has(i.pinned)) [large, reason] = [i.pinned, "pin"];
  else if (i.mode === "speaker") {
    reason = "speaker";
    large = has(i.speaker) ? i.speaker : (i.keys.find((k) => k !== i.self) ?? i.keys[0] ?? null);
  }
  const others = large === null ? [...i.keys] : i.keys.filter((k) => k !== large);
  // A screen share is what everyone looks at: people stay in the grid
  // beside it, the one who would be large first.
  const rest = i.screens && large !== null ? [large, ...others] : others;
  if (i.screens) [large, reason] = [null, null];
  const page = pageOf(rest.length, i.page, i.pageSize);
  return { mode: large !== null ? "speaker" : "gallery", large, reason, shown: rest.slice(page.start, page.end), page };
}
