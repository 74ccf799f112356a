import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff } from "../src/lib/backoff.js";

test("delays double from 1 s up to 10 s", () => {
  const b = new Backoff();
  let now = 0;
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    const d = b.next(now)!;
    delays.push(d);
    now += d;
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 10000, 10000, 10000]);
});

test("gives up once the outage has lasted two minutes", () => {
  const b = new Backoff();
  let now = 5000; // the outage starts at the first failure, not at zero
  let attempts = 0;
  for (;;) {
    const d = b.next(now);
    if (d === null) break;
    attempts++;
    now += d;
    assert.ok(now - 5000 <= 120_000, "never plans an attempt after the give-up time");
  }
  assert.equal(now - 5000, 120_000);
  // 1+2+4+8 = 15 s, then 10 s steps: 10 more to 115 s, then a last 5 s one.
  assert.equal(attempts, 4 + 10 + 1);
});

test("reset starts the next outage afresh", () => {
  const b = new Backoff();
  b.next(0);
  b.next(1000);
  b.next(3000);
  b.reset();
  assert.equal(b.outageStart, null);
  assert.equal(b.next(500_000), 1000);
  assert.equal(b.outageStart, 500_000);
});
