import assert from "node:assert/strict";
import { test } from "node:test";

import { parseUsage, type Usage } from "../src/api/admin.js";
import { band, chartSummary, compact, labelStride, longLabel, niceTicks, rangeFor, SERIES, shortLabel, yScale } from "../src/ui/usage-chart.js";

test("ticks are whole, round steps from 0 to at or above the highest value", () => {
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.deepEqual(niceTicks(1), [0, 1]);
  assert.deepEqual(niceTicks(3), [0, 1, 2, 3]);
  assert.deepEqual(niceTicks(7), [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(10), [0, 5, 10]);
  assert.deepEqual(niceTicks(37), [0, 10, 20, 30, 40]);
  assert.deepEqual(niceTicks(1234), [0, 500, 1000, 1500]);
  for (const max of [1, 2, 5, 9, 11, 99, 101, 4999, 123456]) {
    const t = niceTicks(max);
    const step = (t[1] ?? 0) - (t[0] ?? 0);
    assert.ok(Number.isInteger(step) && step >= 1, `step ${step} for ${max}`);
    assert.ok((t[t.length - 1] ?? 0) >= max && (t[t.length - 2] ?? 0) < max, `top of ${t.join(",")} for ${max}`);
    assert.ok(t.length >= 2 && t.length <= 6, `${t.length} ticks for ${max}`);
  }
});

test("the y scale maps 0 to the bottom and the top to the plot's top", () => {
  const y = yScale(40, 150, 100);
  assert.equal(y(0), 150);
  assert.equal(y(40), 50);
  assert.equal(y(10), 125);
  assert.equal(yScale(0, 150, 100)(0), 150);
});

test("bands split the plot evenly, centred", () => {
  assert.deepEqual(band(0, 4, 40, 200), { x: 40, w: 50, mid: 65 });
  assert.deepEqual(band(3, 4, 40, 200), { x: 190, w: 50, mid: 215 });
  assert.equal(band(0, 0, 0, 100).w, 100);
});

test("x labels are thinned so they do not overlap", () => {
  assert.equal(labelStride(12, 600, 48), 1);
  assert.equal(labelStride(30, 600, 48), 3);
  assert.equal(labelStride(30, 300, 48), 5);
  assert.equal(labelStride(365, 600, 48), 30);
  assert.equal(labelStride(0, 600, 48), 1);
});

test("numbers on the axis are short", () => {
  assert.equal(compact(0), "0");
  assert.equal(compact(950), "950");
  assert.equal(compact(1200), "1.2k");
  assert.equal(compact(15000), "15k");
  assert.equal(compact(2_500_000), "2.5M");
});

test("bucket labels: the day, or the week's first day; in full with the weekday or the span", () => {
  assert.equal(shortLabel({ start: "2026-03-04" }), "4 Mar");
  assert.equal(longLabel({ start: "2026-03-04", end: "2026-03-04" }, "day"), "Wed 4 Mar 2026");
  assert.equal(longLabel({ start: "2026-03-02", end: "2026-03-08" }, "week"), "2–8 Mar 2026");
  assert.equal(longLabel({ start: "2026-02-23", end: "2026-03-01" }, "week"), "23 Feb – 1 Mar 2026");
  assert.equal(longLabel({ start: "2025-12-29", end: "2026-01-04" }, "week"), "29 Dec 2025 – 4 Jan 2026");
  assert.equal(longLabel({ start: "2026-03-11", end: "2026-03-11" }, "week"), "Wed 11 Mar 2026"); // a week cut to one day
});

test("the periods end today (UTC); 12 weeks start on a Monday", () => {
  const now = new Date(Date.UTC(2026, 2, 11, 23, 30)); // Wednesday
  assert.deepEqual(rangeFor("30d", now), { from: "2026-02-10", to: "2026-03-11" });
  assert.deepEqual(rangeFor("12w", now), { from: "2025-12-22", to: "2026-03-11" });
  assert.equal(new Date(`${rangeFor("12w", now).from}T00:00:00Z`).getUTCDay(), 1);
  assert.deepEqual(rangeFor("12m", now), { from: "2025-03-12", to: "2026-03-11" });
  const sunday = new Date(Date.UTC(2026, 2, 15, 1));
  assert.equal(rangeFor("12w", sunday).from, "2025-12-22"); // the same week's Monday
  for (const c of ["30d", "12w", "6m", "12m"] as const) {
    const r = rangeFor(c, now);
    const days = (Date.parse(r.to) - Date.parse(r.from)) / 86_400_000 + 1;
    assert.ok(days <= 366, `${c}: ${days} days, more than the server allows`);
  }
});

const good = {
  from: "2026-03-02",
  to: "2026-03-04",
  by: "day",
  buckets: [
    { start: "2026-03-02", end: "2026-03-02", meetings: 2, participants: 6, participantMinutes: 60, meetingMinutes: 30, peakParticipants: 4 },
    { start: "2026-03-03", end: "2026-03-03", meetings: 0, participants: 0, participantMinutes: 0, meetingMinutes: 0, peakParticipants: 0 },
    { start: "2026-03-04", end: "2026-03-04", meetings: 3, participants: 5, participantMinutes: 45, meetingMinutes: 20, peakParticipants: 5 },
  ],
  totals: { start: "2026-03-02", end: "2026-03-04", meetings: 5, participants: 11, participantMinutes: 105, meetingMinutes: 50, peakParticipants: 5 },
};

test("the usage figures are read whole, and malformed ones refused", () => {
  const u = parseUsage(good);
  assert.equal(u.buckets.length, 3);
  assert.equal(u.totals.participants, 11);
  const bucket = (change: Record<string, unknown>) => ({ ...good, buckets: [{ ...good.buckets[0], ...change }] });
  for (const bad of [
    { ...good, by: "month" },
    { ...good, from: "2 March" },
    { ...good, to: "2026-03-01" }, // before from
    { ...good, buckets: undefined },
    { ...good, totals: undefined },
    bucket({ meetings: -1 }),
    bucket({ meetings: 1.5 }),
    bucket({ participants: "6" }),
    bucket({ start: "2026-03-03", end: "2026-03-02" }),
    { ...good, buckets: [good.buckets[1], good.buckets[0]] }, // out of order
  ]) {
    assert.throws(() => parseUsage(bad), JSON.stringify(bad));
  }
});

test("each chart's summary gives the period, the total and the busiest bucket", () => {
  const u: Usage = parseUsage(good);
  const [meetings, , minutes, peak] = SERIES;
  assert.ok(meetings && minutes && peak);
  assert.equal(chartSummary(meetings, u), "Meetings per day, 2–4 Mar 2026: 5 meetings in all; the most, 3 meetings, on Wed 4 Mar 2026.");
  assert.equal(chartSummary(minutes, u), "Minutes in meetings per day, 2–4 Mar 2026: 105 minutes in all; the most, 60 minutes, on Mon 2 Mar 2026.");
  assert.equal(chartSummary(peak, u), "Most people in meetings at once per day, 2–4 Mar 2026: at most 5 people, on Wed 4 Mar 2026.");
  const empty = parseUsage({ ...good, buckets: [good.buckets[1]], from: "2026-03-03", to: "2026-03-03", totals: { ...good.buckets[1] } });
  assert.equal(chartSummary(meetings, empty), "Meetings per day, Tue 3 Mar 2026: none.");
  const weekly = parseUsage({ ...good, by: "week", buckets: [{ ...good.buckets[0], end: "2026-03-04" }] });
  assert.match(chartSummary(meetings, weekly), /in the week of 2–4 Mar 2026\.$/);
});
