import assert from "node:assert/strict";
import { test } from "node:test";
import { recoveryCodesFileName, recoveryCodesText } from "../src/lib/recovery-codes-file.js";
import { groupSecret } from "../src/pages/twofactor.js";

test("the recovery codes file says what they are, then one code a line", () => {
  const text = recoveryCodesText(["aaaaa-bbbbb", "ccccc-ddddd"], "ada@example.org", "meet.example.org", new Date("2026-02-03T04:05:06Z"));
  const lines = text.split("\n");
  assert.equal(lines[0], "Kaigi recovery codes for ada@example.org");
  assert.equal(lines[1], "Server: meet.example.org");
  assert.equal(lines[2], "Made: 2026-02-03");
  assert.ok(lines.includes("aaaaa-bbbbb") && lines.includes("ccccc-ddddd"));
  assert.ok(text.endsWith("ccccc-ddddd\n"));
});

test("the file name is safe", () => {
  assert.equal(recoveryCodesFileName("meet.example.org"), "kaigi-recovery-codes-meet.example.org.txt");
  assert.equal(recoveryCodesFileName("127.0.0.1:8080"), "kaigi-recovery-codes-127.0.0.1-8080.txt");
  assert.equal(recoveryCodesFileName(""), "kaigi-recovery-codes.txt");
});

test("TOTP secrets are shown in groups of four", () => {
  assert.equal(groupSecret("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
  assert.equal(groupSecret("ABCDE"), "ABCD E");
  assert.equal(groupSecret("AB CD"), "ABCD");
});
