import assert from "node:assert/strict";
import { test } from "node:test";
import { bestGrid } from "../src/lib/layout.js";

test("one tile fills the box", () => {
  assert.deepEqual(bestGrid(1, 1600, 900), { cols: 1, rows: 1 });
});

test("two tiles sit side by side in a wide box and stacked in a tall one", () => {
  assert.deepEqual(bestGrid(2, 1600, 900), { cols: 2, rows: 1 });
  assert.deepEqual(bestGrid(2, 400, 900), { cols: 1, rows: 2 });
});

test("a larger meeting gets a roughly square grid in a 16:9 box", () => {
  assert.deepEqual(bestGrid(4, 1600, 900), { cols: 2, rows: 2 });
  assert.deepEqual(bestGrid(9, 1600, 900), { cols: 3, rows: 3 });
  const g = bestGrid(12, 1600, 900);
  assert.ok(g.cols * g.rows >= 12);
  assert.deepEqual(g, { cols: 4, rows: 3 });
});

test("a narrow strip beside a screen share is one column", () => {
  assert.deepEqual(bestGrid(4, 240, 900), { cols: 1, rows: 4 });
});

test("degenerate sizes still give a usable grid", () => {
  assert.deepEqual(bestGrid(0, 100, 100), { cols: 1, rows: 1 });
  const g = bestGrid(5, 0, 0);
  assert.ok(g.cols * g.rows >= 5);
});

test("near-ties go to side-by-side tiles", () => {
  // Stacked would be 0.3 % wider here; side by side crops far less.
  assert.deepEqual(bestGrid(2, 1256, 712), { cols: 2, rows: 1 });
});
