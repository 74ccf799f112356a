import assert from "node:assert/strict";
import { test } from "node:test";
import { BackgroundBlur, blurFor, localBlurChoice, type BlurChoiceStore, type BlurEngine, type BlurPipeline, type PipelineEvents } from "../src/meeting/background-blur.js";

/** A camera track stand-in: only readyState is read. */
function track(name: string): MediaStreamTrack {
  return { id: name, readyState: "live" } as unknown as MediaStreamTrack;
}

function stopTrack(t: MediaStreamTrack): void {
  (t as unknown as { readyState: string }).readyState = "ended";
}

interface FakePipeline extends BlurPipeline {
  sources: MediaStreamTrack[];
  stopped: boolean;
  events: PipelineEvents;
}

/** An engine that records the pipelines it starts. */
function fakeEngine(): { engine: BlurEngine; started: FakePipeline[] } {
  const started: FakePipeline[] = [];
  let n = 0;
  const engine: BlurEngine = (source, events) => {
    const p: FakePipeline = {
      output: track(`blurred-${++n}`),
      sources: [source],
      stopped: false,
      events,
      setSource(t) {
        this.sources.push(t);
      },
      stop() {
        this.stopped = true;
      },
    };
    started.push(p);
    return p;
  };
  return { engine, started };
}

function memoryStore(initial: boolean): BlurChoiceStore & { saved: boolean[] } {
  let v = initial;
  const saved: boolean[] = [];
  return {
    saved,
    load: () => v,
    save: (on) => {
      v = on;
      saved.push(on);
    },
  };
}

test("off: the camera goes out as it is and nothing runs", () => {
  const { engine, started } = fakeEngine();
  const b = new BackgroundBlur(engine, memoryStore(false));
  const cam = track("cam");
  assert.equal(b.enabled, false);
  assert.equal(b.output(cam), cam);
  assert.equal(b.output(null), null);
  assert.equal(started.length, 0);
});

test("on: one pipeline per running camera, the same output for every caller", () => {
  const { engine, started } = fakeEngine();
  const b = new BackgroundBlur(engine, memoryStore(true));
  const cam = track("cam");
  const out = b.output(cam);
  assert.notEqual(out, cam);
  assert.equal(b.output(cam), out, "the sender and the self-view get the same track");
  assert.equal(started.length, 1);
  assert.deepEqual(started[0]!.sources, [cam]);
  assert.equal(b.running, true);
});

test("turning blur on and off tells the owner, remembers the choice, and stops the pipeline", () => {
  const { engine, started } = fakeEngine();
  const store = memoryStore(false);
  const b = new BackgroundBlur(engine, store);
  const changes: (string | null)[] = [];
  b.onChange = (p) => changes.push(p);
  const cam = track("cam");
  b.setEnabled(true);
  assert.deepEqual(changes, [null]);
  assert.deepEqual(store.saved, [true]);
  const out = b.output(cam);
  assert.equal(out, started[0]!.output);
  b.setEnabled(false);
  assert.deepEqual(changes, [null, null]);
  assert.deepEqual(store.saved, [true, false]);
  assert.equal(started[0]!.stopped, true, "processing stops as blur goes off");
  assert.equal(b.output(cam), cam);
  assert.equal(b.running, false);
  b.setEnabled(false);
  assert.equal(changes.length, 2, "no change, no call");
});

test("a switched camera is fed into the running pipeline: the output track stays", () => {
  const { engine, started } = fakeEngine();
  const b = new BackgroundBlur(engine, memoryStore(true));
  const first = track("front");
  const out = b.output(first);
  stopTrack(first); // LocalMedia stops the old track as it replaces it
  const second = track("back");
  assert.equal(b.output(second), out);
  assert.equal(started.length, 1);
  assert.deepEqual(started[0]!.sources, [first, second]);
  assert.equal(started[0]!.stopped, false);
});

test("camera off stops the pipeline; on again starts a fresh one", () => {
  const { engine, started } = fakeEngine();
  const b = new BackgroundBlur(engine, memoryStore(true));
  const out1 = b.output(track("cam"));
  assert.equal(b.output(null), null);
  assert.equal(started[0]!.stopped, true);
  const out2 = b.output(track("cam2"));
  assert.notEqual(out2, out1);
  assert.equal(started.length, 2);
  assert.equal(b.enabled, true, "the choice stays on while the camera is off");
});

test("a camera stopped behind blur's back: the pipeline's end is noted, the next camera starts anew", () => {
  const { engine, started } = fakeEngine();
  const b = new BackgroundBlur(engine, memoryStore(true));
  const cam = track("cam");
  b.output(cam);
  stopTrack(cam);
  started[0]!.stop();
  started[0]!.events.ended();
  assert.equal(b.running, false);
  assert.equal(b.output(cam), cam, "an ended camera is passed through, nothing starts on it");
  assert.equal(started.length, 1);
  b.output(track("cam2"));
  assert.equal(started.length, 2);
});

test("a model that fails: the person is told, the plain camera goes out, the remembered choice stays", () => {
  const { engine, started } = fakeEngine();
  const store = memoryStore(true);
  const b = new BackgroundBlur(engine, store);
  const problems: (string | null)[] = [];
  b.onChange = (p) => problems.push(p);
  const cam = track("cam");
  b.output(cam);
  started[0]!.events.failed("no WebGL in a worker");
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /no WebGL in a worker/);
  assert.match(problems[0]!, /sent without it/);
  assert.equal(b.enabled, false);
  assert.equal(b.output(cam), cam);
  assert.equal(started.length, 1, "not retried on its own");
  assert.deepEqual(store.saved, [], "the choice is not overwritten");
  // The person may try again.
  b.setEnabled(true);
  assert.notEqual(b.output(cam), cam);
  assert.equal(started.length, 2);
});

test("events of a pipeline that was already replaced are ignored", () => {
  const { engine, started } = fakeEngine();
  const b = new BackgroundBlur(engine, memoryStore(true));
  const problems: (string | null)[] = [];
  b.onChange = (p) => problems.push(p);
  b.output(track("a"));
  b.output(null);
  const cam = track("b");
  const out = b.output(cam);
  started[0]!.events.failed("late");
  started[0]!.events.ended();
  assert.deepEqual(problems, []);
  assert.equal(b.enabled, true);
  assert.equal(b.running, true);
  assert.equal(b.output(cam), out);
  assert.equal(started.length, 2);
});

test("close stops processing and keeps the choice", () => {
  const { engine, started } = fakeEngine();
  const store = memoryStore(true);
  const b = new BackgroundBlur(engine, store);
  b.output(track("cam"));
  b.close();
  assert.equal(started[0]!.stopped, true);
  assert.equal(b.enabled, true);
  assert.deepEqual(store.saved, []);
});

test("without an engine (a browser that cannot blur) blur is never on, whatever was remembered", () => {
  const store = memoryStore(true);
  const b = new BackgroundBlur(null, store);
  const cam = track("cam");
  assert.equal(b.supported, false);
  assert.equal(b.enabled, false);
  b.setEnabled(true);
  assert.equal(b.enabled, false);
  assert.equal(b.output(cam), cam);
  assert.deepEqual(store.saved, []);
});

test("the choice is remembered in localStorage, and storage that fails forgets quietly", () => {
  const data = new Map<string, string>();
  const g = globalThis as { localStorage?: unknown };
  const saved = g.localStorage;
  try {
    g.localStorage = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    assert.equal(localBlurChoice.load(), false);
    localBlurChoice.save(true);
    assert.equal(localBlurChoice.load(), true);
    localBlurChoice.save(false);
    assert.equal(localBlurChoice.load(), false);
    g.localStorage = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("full");
      },
    };
    assert.equal(localBlurChoice.load(), false);
    localBlurChoice.save(true);
  } finally {
    g.localStorage = saved;
  }
});

test("the pre-join page and the meeting share one blur per set of local media", () => {
  const media = {};
  assert.equal(blurFor(media), blurFor(media));
  assert.notEqual(blurFor(media), blurFor({}));
  assert.equal(blurFor(media).supported, false, "node has no canvas: no engine");
});
