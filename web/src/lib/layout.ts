// Gallery geometry: how many columns and rows make the tiles largest.

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
