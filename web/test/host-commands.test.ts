import assert from "node:assert/strict";
import { test } from "node:test";
import { HostCommands } from "../src/meeting/host-commands.js";
import type { HostControl } from "../src/meeting/protocol.js";

test("admit all and deny all name everyone in the waiting room, not one person", () => {
  const sent: HostControl[] = [];
  const host = new HostCommands((m) => sent.push(m));
  host.admitAll();
  host.denyAll();
  host.deny("w1");
  assert.deepEqual(sent, [
    { type: "admit", all: true },
    { type: "deny", all: true },
    { type: "deny", participant: "w1" },
  ]);
});
