import assert from "node:assert/strict";
import { test } from "node:test";
import { localToUtc, nextHalfHour, rfc3339, utcToLocal } from "../src/lib/datetime.js";

// Node reads TZ whenever it changes, so each test can pick its time zone.
function inZone<T>(tz: string, fn: () => T): T {
  const was = process.env.TZ;
  process.env.TZ = tz;
  try {
    return fn();
  } finally {
    if (was === undefined) delete process.env.TZ;
    else process.env.TZ = was;
  }
}

test("a local date and time becomes RFC 3339 in UTC", () => {
  inZone("Europe/Berlin", () => {
    assert.equal(localToUtc("2026-01-15", "09:30"), "2026-01-15T08:30:00Z", "winter: UTC+1");
    assert.equal(localToUtc("2026-07-15", "09:30"), "2026-07-15T07:30:00Z", "summer: UTC+2");
  });
  inZone("America/New_York", () => {
    assert.equal(localToUtc("2026-12-31", "22:00"), "2027-01-01T03:00:00Z", "crosses the year in UTC");
  });
  inZone("Asia/Kolkata", () => {
    assert.equal(localToUtc("2026-03-01", "00:15"), "2026-02-28T18:45:00Z", "half-hour offset");
  });
  inZone("UTC", () => {
    assert.equal(localToUtc("2026-03-01", "12:00:30"), "2026-03-01T12:00:30Z");
  });
});

test("impossible or malformed dates and times are refused", () => {
  inZone("UTC", () => {
    assert.equal(localToUtc("2026-02-30", "09:00"), null);
    assert.equal(localToUtc("2026-13-01", "09:00"), null);
    assert.equal(localToUtc("2026-01-01", "24:00"), null);
    assert.equal(localToUtc("", "09:00"), null);
    assert.equal(localToUtc("2026-01-01", ""), null);
    assert.equal(localToUtc("1/2/2026", "9:00"), null);
  });
});

test("a time in the spring-forward gap still gives a real instant", () => {
  inZone("America/New_York", () => {
    // 02:30 does not exist on 8 March 2026 in New York.
    const got = localToUtc("2026-03-08", "02:30");
    assert.ok(got === "2026-03-08T07:30:00Z" || got === "2026-03-08T06:30:00Z", String(got));
  });
});

test("UTC back to the form's local fields", () => {
  inZone("Europe/Berlin", () => {
    assert.deepEqual(utcToLocal("2026-07-15T07:30:00Z"), { date: "2026-07-15", time: "09:30" });
    assert.equal(utcToLocal("not a time"), null);
  });
  inZone("Pacific/Auckland", () => {
    const back = utcToLocal(localToUtc("2026-04-05", "02:45")!);
    assert.deepEqual(back, { date: "2026-04-05", time: "02:45" });
  });
});

test("rfc3339 drops milliseconds; the next half hour rounds up", () => {
  assert.equal(rfc3339(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))), "2026-01-02T03:04:05Z");
  inZone("UTC", () => {
    assert.equal(rfc3339(nextHalfHour(new Date("2026-01-01T10:05:00Z"))), "2026-01-01T10:30:00Z");
    assert.equal(rfc3339(nextHalfHour(new Date("2026-01-01T10:30:00Z"))), "2026-01-01T11:00:00Z");
    assert.equal(rfc3339(nextHalfHour(new Date("2026-01-01T23:45:10Z"))), "2026-01-02T00:00:00Z");
  });
});
