import assert from "node:assert/strict";
import { test } from "node:test";
import { meetingIdFromInput, meetingIdFromPath, normalizeMeetingId } from "../src/lib/meetingid.js";

test("normalizeMeetingId accepts the canonical form", () => {
  assert.equal(normalizeMeetingId("7k3m-q9xd-2hfa-b8rn"), "7k3m-q9xd-2hfa-b8rn");
});

test("normalizeMeetingId accepts upper case, missing dashes and spaces", () => {
  assert.equal(normalizeMeetingId("7K3MQ9XD2HFAB8RN"), "7k3m-q9xd-2hfa-b8rn");
  assert.equal(normalizeMeetingId("7k3m q9xd 2hfa b8rn"), "7k3m-q9xd-2hfa-b8rn");
  assert.equal(normalizeMeetingId("7k3mq9xd-2hfab8rn"), "7k3m-q9xd-2hfa-b8rn");
});

test("normalizeMeetingId reads o, i and l as the digits they look like", () => {
  assert.equal(normalizeMeetingId("7k3m-q9xd-2hfa-b8ro"), "7k3m-q9xd-2hfa-b8r0");
  assert.equal(normalizeMeetingId("7k3m-q9xd-2hfa-b8rI"), "7k3m-q9xd-2hfa-b8r1");
  assert.equal(normalizeMeetingId("Lk3m-q9xd-2hfa-b8rn"), "1k3m-q9xd-2hfa-b8rn");
});

test("normalizeMeetingId rejects wrong lengths and letters outside the alphabet", () => {
  for (const bad of ["", "7k3m-q9xd-2hfa", "7k3m-q9xd-2hfa-b8rnx", "7k3m-q9xd-2hfa-b8ru", "7k3m-q9xd-2hfa-b8r!", "7k3m_q9xd_2hfa_b8rn"]) {
    assert.equal(normalizeMeetingId(bad), null, bad);
  }
});

test("meetingIdFromInput reads links, paths and bare IDs", () => {
  const id = "7k3m-q9xd-2hfa-b8rn";
  const cases: [string, string | null][] = [
    [id, id],
    [`  ${id}  `, id],
    [`https://kaigi.example/m/${id}`, id],
    [`http://127.0.0.1:8080/m/${id}`, id],
    [`https://kaigi.example/m/${id}/`, id],
    [`https://kaigi.example/m/${id}?x=1#y`, id],
    [`https://kaigi.example/m/7K3MQ9XD2HFAB8RN`, id],
    [`kaigi.example/m/${id}`, id],
    [`/m/${id}`, id],
    ["https://kaigi.example/", null],
    [`https://kaigi.example/other/${id}`, null],
    [`javascript://kaigi.example/m/${id}`, null],
    [`ftp://kaigi.example/m/${id}`, null],
    ["not a meeting", null],
    ["", null],
  ];
  for (const [input, want] of cases) assert.equal(meetingIdFromInput(input), want, input);
});

test("meetingIdFromPath takes the ID as written", () => {
  assert.equal(meetingIdFromPath("/m/7k3m-q9xd-2hfa-b8rn"), "7k3m-q9xd-2hfa-b8rn");
  assert.equal(meetingIdFromPath("/m/ANYTHING/"), "ANYTHING");
  assert.equal(meetingIdFromPath("/m/"), null);
  assert.equal(meetingIdFromPath("/m/a/b"), null);
  assert.equal(meetingIdFromPath("/"), null);
  assert.equal(meetingIdFromPath("/m/%E0%A4%A"), null);
});
