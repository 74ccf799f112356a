import assert from "node:assert/strict";
import { test } from "node:test";
import { arrange, bestGrid, pageOf, type ArrangeInput } from "../src/lib/layout.js";

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

test("pages hold at most 25 tiles; the page shown is clamped to those there are", () => {
  assert.deepEqual(pageOf(25, 0), { page: 0, pages: 1, start: 0, end: 25 });
  assert.deepEqual(pageOf(26, 0), { page: 0, pages: 2, start: 0, end: 25 });
  assert.deepEqual(pageOf(26, 1), { page: 1, pages: 2, start: 25, end: 26 });
  // People left: the page shown moves back to the last one there is.
  assert.deepEqual(pageOf(30, 5), { page: 1, pages: 2, start: 25, end: 30 });
  assert.deepEqual(pageOf(0, 3), { page: 0, pages: 1, start: 0, end: 0 });
  assert.deepEqual(pageOf(7, -2, 3), { page: 0, pages: 3, start: 0, end: 3 });
  assert.deepEqual(pageOf(7, 2, 3), { page: 2, pages: 3, start: 6, end: 7 });
});

const people = (n: number): string[] => ["self", ...Array.from({ length: n - 1 }, (_, i) => `p:${i}`)];
const base: ArrangeInput = { keys: people(4), self: "self", mode: "gallery", spotlight: null, pinned: null, speaker: null, screens: false, page: 0 };

test("gallery: every tile in the grid, paged beyond 25; tiles on other pages are not shown", () => {
  const a = arrange(base);
  assert.equal(a.mode, "gallery");
  assert.equal(a.large, null);
  assert.deepEqual(a.shown, base.keys);
  const many = people(40);
  const first = arrange({ ...base, keys: many });
  const second = arrange({ ...base, keys: many, page: 1 });
  assert.equal(first.shown.length, 25);
  assert.equal(second.shown.length, 15);
  assert.deepEqual([...first.shown, ...second.shown], many, "every tile on exactly one page");
  assert.equal(second.page.pages, 2);
});

test("speaker view: the active speaker is large, the others in the strip", () => {
  const a = arrange({ ...base, mode: "speaker", speaker: "p:1" });
  assert.equal(a.mode, "speaker");
  assert.equal(a.large, "p:1");
  assert.equal(a.reason, "speaker");
  assert.deepEqual(a.shown, ["self", "p:0", "p:2"]);
  // Before anyone spoke (or when the speaker left): the first other participant, never oneself while others are there.
  assert.equal(arrange({ ...base, mode: "speaker" }).large, "p:0");
  assert.equal(arrange({ ...base, mode: "speaker", speaker: "p:gone" }).large, "p:0");
  assert.equal(arrange({ ...base, keys: ["self"], mode: "speaker" }).large, "self");
});

test("a pin overrides the speaker, and a spotlight overrides both, in any mode", () => {
  const pinned = arrange({ ...base, mode: "speaker", speaker: "p:1", pinned: "p:2" });
  assert.equal(pinned.large, "p:2");
  assert.equal(pinned.reason, "pin");
  const pinnedInGallery = arrange({ ...base, pinned: "p:2" });
  assert.equal(pinnedInGallery.mode, "speaker", "a pin turns the gallery into speaker view");
  assert.equal(pinnedInGallery.large, "p:2");
  const spot = arrange({ ...base, speaker: "p:1", pinned: "p:2", spotlight: "p:0" });
  assert.equal(spot.large, "p:0");
  assert.equal(spot.reason, "spotlight");
  assert.ok(!spot.shown.includes("p:0"));
  // A spotlight or pin on someone who left counts as none.
  assert.equal(arrange({ ...base, spotlight: "p:gone", pinned: "p:gone" }).mode, "gallery");
});

test("a screen share takes the large place; the would-be large tile leads the people beside it", () => {
  const a = arrange({ ...base, mode: "speaker", speaker: "p:2", screens: true });
  assert.equal(a.mode, "gallery");
  assert.equal(a.large, null);
  assert.deepEqual(a.shown, ["p:2", "self", "p:0", "p:1"]);
});
