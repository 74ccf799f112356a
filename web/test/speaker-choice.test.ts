import assert from "node:assert/strict";
import { test } from "node:test";
import { SpeakerChoice, type LevelSample, type SpeakerState } from "../src/lib/speaker-choice.js";

const STEP = 150; // the poll interval of meeting/active-speaker.ts
const VOICE = 0.2;
const QUIET = 0.003; // room noise, under the threshold

/**
 * Feeds `choice` from `from` to `to` ms, every poll, with each
 * participant's level at that time (null: no packets, a muted microphone).
 * Returns the states seen, one per poll.
 */
function run(choice: SpeakerChoice, from: number, to: number, levels: (t: number) => Record<string, number | null>, last: Record<string, number> = {}): SpeakerState[] {
  const out: SpeakerState[] = [];
  for (let t = from; t < to; t += STEP) {
    const samples: LevelSample[] = [];
    for (const [p, level] of Object.entries(levels(t))) {
      if (level !== null) last[p] = t;
      samples.push({ participant: p, level: level ?? VOICE, at: last[p] ?? -Infinity });
    }
    out.push(choice.update(t, samples));
  }
  return out;
}

const switches = (states: SpeakerState[]): number => states.filter((s, i) => i > 0 && s.speaker !== states[i - 1]!.speaker).length;

test("the first voice becomes the speaker at once; silence keeps the view where it is", () => {
  const c = new SpeakerChoice();
  const quiet = run(c, 0, 1000, () => ({ ada: QUIET, bob: QUIET }));
  assert.equal(quiet.at(-1)!.speaker, null, "nobody spoke yet");
  const talk = run(c, 1000, 2000, () => ({ ada: QUIET, bob: VOICE }));
  assert.equal(talk[1]!.speaker, "bob", "within two polls");
  const after = run(c, 2000, 8000, () => ({ ada: QUIET, bob: QUIET }));
  assert.equal(after.at(-1)!.speaker, "bob", "silence does not move the view");
});

test("a short sound (a cough, an 'mm-hm') does not take the view", () => {
  const c = new SpeakerChoice();
  run(c, 0, 3000, () => ({ ada: VOICE, bob: QUIET }));
  const states = run(c, 3000, 9000, (t) => ({ ada: VOICE, bob: t >= 5000 && t < 5400 ? 0.6 : QUIET }));
  assert.equal(switches(states), 0);
  assert.equal(states.at(-1)!.speaker, "ada");
});

test("a new speaker takes over after about a second of talking while the other is quiet, not sooner", () => {
  const c = new SpeakerChoice();
  run(c, 0, 4000, () => ({ ada: VOICE, bob: QUIET }));
  const states = run(c, 4000, 8000, () => ({ ada: QUIET, bob: VOICE }));
  const at = 4000 + states.findIndex((s) => s.speaker === "bob") * STEP;
  assert.ok(at > 4000 + 800 && at < 4000 + 3000, `switched after ${at - 4000} ms`);
  assert.equal(switches(states), 1);
});

test("two people talking over each other at similar levels do not make the view flap", () => {
  const c = new SpeakerChoice();
  // Who is louder changes every 300 ms, by up to 30 %.
  const states = run(c, 0, 30_000, (t) => {
    const odd = Math.floor(t / 300) % 2 === 1;
    return { ada: odd ? 0.2 : 0.26, bob: odd ? 0.26 : 0.2, cy: QUIET };
  });
  assert.ok(switches(states) <= 1, `${switches(states)} switches in 30 s`);
});

test("turn-taking: each turn of a few seconds switches once, no more", () => {
  const c = new SpeakerChoice();
  const who = ["ada", "bob", "cy"];
  const states = run(c, 0, 30_000, (t) => {
    const turn = who[Math.floor(t / 5000) % 3]!;
    return Object.fromEntries(who.map((p) => [p, p === turn ? VOICE : QUIET]));
  });
  assert.ok(switches(states) >= 5 && switches(states) <= 6, `${switches(states)} switches over 6 turns`);
});

test("speaking (the ring) follows the voice, with a short hang; a muted microphone is silent", () => {
  const c = new SpeakerChoice();
  const talk = run(c, 0, 1500, () => ({ ada: VOICE, bob: QUIET }));
  assert.ok(talk.at(-1)!.speaking.has("ada"));
  assert.ok(!talk.at(-1)!.speaking.has("bob"));
  // Stops talking: the ring stays for a moment between words, then goes.
  const pause = run(c, 1500, 2500, () => ({ ada: QUIET, bob: QUIET }));
  assert.ok(pause[0]!.speaking.has("ada"), "a pause between words");
  assert.ok(!pause.at(-1)!.speaking.has("ada"));
  // A level that stopped arriving (muted: no packets) is silence, whatever it said last.
  const last: Record<string, number> = {};
  const muted = run(c, 2500, 4000, (t) => ({ ada: t < 2700 ? VOICE : null }), last);
  assert.ok(!muted.at(-1)!.speaking.has("ada"));
});

test("a speaker who leaves gives up the view at once", () => {
  const c = new SpeakerChoice();
  run(c, 0, 3000, () => ({ ada: VOICE, bob: QUIET }));
  const s = c.update(3000, [{ participant: "bob", level: QUIET, at: 3000 }]);
  assert.equal(s.speaker, null);
  assert.ok(!s.speaking.has("ada"));
});
