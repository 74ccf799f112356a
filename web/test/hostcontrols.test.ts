import assert from "node:assert/strict";
import { test } from "node:test";
import { HostControls } from "../src/hostcontrols.js";
import type { HostControl } from "../src/protocol.js";

test("admit all and deny all name everyone in the waiting room, not one person", () => {
  const sent: HostControl[] = [];
  const host = new HostControls((m) => sent.push(m));
  host.admitAll();
  host.denyAll();
  host.deny("w1");
  assert.deepEqual(sent, [
    { type: "admit", all: true },
    { type: "deny", all: true },
    { type: "deny", participant: "w1" },
  ]);
});
