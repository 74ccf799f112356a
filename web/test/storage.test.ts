import assert from "node:assert/strict";
import { test } from "node:test";
import { deviceId, newDeviceId, rememberE2ee, remembersE2ee } from "../src/lib/storage.js";

test("device IDs are 32 hex characters from the random source", () => {
  assert.equal(newDeviceId((b) => b.fill(0xab)), "ab".repeat(16));
  const a = newDeviceId();
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, newDeviceId());
});

test("deviceId works without storage (a fresh one each time) and fits hello's limit", () => {
  const id = deviceId();
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.ok(id.length <= 64);
});

/** Runs fn with `storage` as localStorage (node has none). */
function withLocalStorage(storage: object, fn: () => void): void {
  Object.defineProperty(globalThis, "localStorage", { value: storage, configurable: true });
  try {
    fn();
  } finally {
    delete (globalThis as { localStorage?: unknown }).localStorage;
  }
}

test("an end-to-end encrypted meeting is remembered per meeting, and stays remembered", () => {
  const items = new Map<string, string>();
  const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
  withLocalStorage(storage, () => {
    assert.equal(remembersE2ee("7k3m-q9xd-2hfa-b8rn"), false);
    rememberE2ee("7k3m-q9xd-2hfa-b8rn");
    rememberE2ee("7k3m-q9xd-2hfa-b8rn");
    assert.equal(remembersE2ee("7k3m-q9xd-2hfa-b8rn"), true);
    assert.equal(remembersE2ee("aaaa-bbbb-cccc-dddd"), false);
    assert.deepEqual([...items.keys()], ["kaigi.e2ee.7k3m-q9xd-2hfa-b8rn"]);
  });
});

test("without storage, or with storage that refuses, nothing is remembered and nothing breaks", () => {
  rememberE2ee("7k3m-q9xd-2hfa-b8rn");
  assert.equal(remembersE2ee("7k3m-q9xd-2hfa-b8rn"), false);
  const refusing = {
    getItem: () => {
      throw new Error("denied");
    },
    setItem: () => {
      throw new Error("full");
    },
  };
  withLocalStorage(refusing, () => {
    rememberE2ee("7k3m-q9xd-2hfa-b8rn");
    assert.equal(remembersE2ee("7k3m-q9xd-2hfa-b8rn"), false);
  });
});
