import assert from "node:assert/strict";
import { test } from "node:test";
import { drawnSize, fitOf, publisherAspect, MAX_VIDEO_SIZE, type DrawnSizeInput } from "../src/lib/drawn-size.js";

const tile = (over: Partial<DrawnSizeInput> = {}): DrawnSizeInput => ({ boxWidth: 624, boxHeight: 569, aspect: 1280 / 720, fit: "cover", dpr: 1, shown: true, ...over });

test("a tile that crops reports the whole scaled picture, larger than its box", () => {
  // The case from issue 14: a 16:9 camera in a 624×569 cover tile fills the
  // height and overflows the width; reporting the box (624×569) asked for a
  // layer a third too small.
  assert.deepEqual(drawnSize(tile()), { width: 1012, height: 569 });
  // A wide box crops top and bottom instead.
  assert.deepEqual(drawnSize(tile({ boxWidth: 1600, boxHeight: 600 })), { width: 1600, height: 900 });
});

test("a tile that fits reports the fitted picture, inside its box", () => {
  assert.deepEqual(drawnSize(tile({ fit: "contain" })), { width: 624, height: 351 });
  assert.deepEqual(drawnSize(tile({ fit: "contain", boxWidth: 1600, boxHeight: 600 })), { width: 1067, height: 600 });
  // A box of the picture's own shape: both fits agree.
  assert.deepEqual(drawnSize(tile({ boxWidth: 640, boxHeight: 360 })), drawnSize(tile({ boxWidth: 640, boxHeight: 360, fit: "contain" })));
});

test("device pixels: the size scales with devicePixelRatio", () => {
  assert.deepEqual(drawnSize(tile({ dpr: 2 })), { width: 2023, height: 1138 });
  assert.deepEqual(drawnSize(tile({ fit: "contain", dpr: 1.5 })), { width: 936, height: 527 });
  // A missing ratio counts as 1.
  assert.deepEqual(drawnSize(tile({ dpr: Number.NaN })), drawnSize(tile()));
});

test("a tile that is not shown (off its page, out of view, tab hidden, camera off) reports 0×0", () => {
  assert.deepEqual(drawnSize(tile({ shown: false })), { width: 0, height: 0 });
  assert.deepEqual(drawnSize(tile({ boxWidth: 0 })), { width: 0, height: 0 });
  assert.deepEqual(drawnSize(tile({ boxHeight: -1 })), { width: 0, height: 0 });
});

test("the size stays within the protocol's limit and keeps the aspect", () => {
  const s = drawnSize(tile({ boxWidth: 10_000, boxHeight: 9_000, dpr: 3 }));
  assert.ok(s.width <= MAX_VIDEO_SIZE && s.height <= MAX_VIDEO_SIZE, JSON.stringify(s));
  assert.ok(Math.abs(s.width / s.height - 16 / 9) < 0.01, JSON.stringify(s));
});

test("a layer switch does not change the aspect, so it does not change the report", () => {
  let a = publisherAspect(null, 0, 0);
  assert.equal(a, null, "no frame yet: no aspect");
  a = publisherAspect(a, 320, 180);
  const first = drawnSize(tile({ aspect: a! }));
  for (const [w, h] of [[640, 360], [1280, 720], [427, 240], [320, 180]] as const) {
    a = publisherAspect(a, w, h);
    assert.deepEqual(drawnSize(tile({ aspect: a! })), first, `after a ${w}×${h} frame`);
  }
  // A camera turned to portrait is a new aspect.
  const portrait = publisherAspect(a, 720, 1280);
  assert.notEqual(portrait, a);
  assert.deepEqual(drawnSize(tile({ aspect: portrait! })), { width: 624, height: 1109 });
});

test("object-fit: only cover crops", () => {
  assert.equal(fitOf("cover"), "cover");
  for (const f of ["contain", "fill", "scale-down", "none", ""]) assert.equal(fitOf(f), "contain");
});
