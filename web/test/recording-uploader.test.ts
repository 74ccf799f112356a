import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../src/api/http.js";
import { ChunkUploader } from "../src/recording/uploader.js";

/** A server that takes chunks, failing as told. */
function fakeServer(fail: (n: number, attempt: number) => ApiError | null) {
  const stored = new Map<number, string>();
  const attempts = new Map<number, number>();
  const order: number[] = [];
  return {
    stored,
    order,
    put: async (n: number, data: Uint8Array) => {
      const a = (attempts.get(n) ?? 0) + 1;
      attempts.set(n, a);
      order.push(n);
      const e = fail(n, a);
      if (e) throw e;
      stored.set(n, new TextDecoder().decode(data));
    },
  };
}

const chunk = (s: string): Uint8Array => new TextEncoder().encode(s);

test("chunks go up in order; one that fails for want of a connection is sent again and the rest follow", async () => {
  const srv = fakeServer((n, a) => (n === 1 && a <= 3 ? new ApiError("unavailable", "no connection", 0) : null));
  const waits: number[] = [];
  let clock = 0;
  let retries = 0;
  let resumed = 0;
  const up = new ChunkUploader({
    put: srv.put,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    now: () => clock,
    retrying: () => retries++,
    resumed: () => resumed++,
  });
  for (let n = 0; n < 4; n++) up.add(n, chunk(`c${n}`));
  await up.drained();
  assert.deepEqual([...srv.stored.entries()].sort(), [[0, "c0"], [1, "c1"], [2, "c2"], [3, "c3"]]);
  assert.deepEqual(srv.order, [0, 1, 1, 1, 1, 2, 3], "chunk 2 waited for chunk 1");
  assert.deepEqual(waits, [1000, 2000, 4000]);
  assert.equal(retries, 3);
  assert.equal(resumed, 1);
  assert.equal(up.uploaded, 4);
  assert.equal(up.pending, 0);
});

test("a server error is retried; a refusal that will not pass stops the uploads and is reported", async () => {
  const srv = fakeServer((n, a) => {
    if (n === 0 && a === 1) return new ApiError("internal", "failed", 500);
    if (n === 2) return new ApiError("recording_finished", "finished", 409);
    return null;
  });
  const up = new ChunkUploader({ put: srv.put, sleep: async () => {}, now: () => 0 });
  for (let n = 0; n < 4; n++) up.add(n, chunk(`c${n}`));
  await assert.rejects(up.drained(), (e: unknown) => e instanceof ApiError && e.code === "recording_finished");
  assert.deepEqual([...srv.stored.keys()].sort(), [0, 1]);
  assert.ok(up.failure instanceof ApiError);
  up.add(4, chunk("c4"));
  assert.equal(up.pending, 0, "nothing is queued after a refusal");
});

test("chunks added while the queue runs are sent by the same run, after the others", async () => {
  const srv = fakeServer(() => null);
  const up = new ChunkUploader({ put: srv.put, sleep: async () => {} });
  up.add(0, chunk("a"));
  up.add(1, chunk("b"));
  await up.drained();
  up.add(2, chunk("c"));
  await up.drained();
  assert.deepEqual(srv.order, [0, 1, 2]);
});
