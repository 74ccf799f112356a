// Which received track belongs to whom. A server offer lists every track the
// client receives, keyed by the transceiver's mid; the browser hands us
// receivers by mid. These functions join the two, with no WebRTC in sight, so
// the bookkeeping can be tested on its own.

import type { Kind, Source, Track } from "./protocol.js";

/** A received track bound to the participant and source the server said it carries. */
export interface Binding<T> {
  mid: string;
  participant: string;
  source: Source;
  kind: Kind;
  track: T;
}

/** What the browser has for one mid: the receiver's track and its kind. */
export interface Receiver<T> {
  kind: string;
  track: T;
}

export interface Reconciled<T> {
  bindings: Map<string, Binding<T>>;
  added: Binding<T>[];
  removed: Binding<T>[];
}

/**
 * Computes the bindings from the latest mapping (the last server offer's
 * tracks) and the receivers the browser has now. A mid missing from the
 * mapping is removed; a mid whose participant, source or track changed (the
 * server reused a transceiver) is removed and added again; a mid the browser
 * has no receiver for yet, or whose kind disagrees, waits.
 */
export function reconcile<T>(
  current: ReadonlyMap<string, Binding<T>>,
  mapping: readonly Track[],
  receivers: ReadonlyMap<string, Receiver<T>>,
): Reconciled<T> {
  const bindings = new Map<string, Binding<T>>();
  const added: Binding<T>[] = [];
  const removed: Binding<T>[] = [];
  for (const t of mapping) {
    const r = receivers.get(t.mid);
    if (!r || r.kind !== t.kind) continue;
    const old = current.get(t.mid);
    if (old && old.participant === t.participant && old.source === t.source && old.track === r.track) {
      bindings.set(t.mid, old);
      continue;
    }
    const b: Binding<T> = { mid: t.mid, participant: t.participant, source: t.source, kind: t.kind, track: r.track };
    bindings.set(t.mid, b);
    added.push(b);
  }
  for (const [mid, old] of current) {
    if (bindings.get(mid) !== old) removed.push(old);
  }
  return { bindings, added, removed };
}

/** The received media of one participant, by source. */
export type ParticipantMedia<T> = Partial<Record<Source, Binding<T>>>;

/** Groups bindings by participant. */
export function mediaByParticipant<T>(bindings: Iterable<Binding<T>>): Map<string, ParticipantMedia<T>> {
  const out = new Map<string, ParticipantMedia<T>>();
  for (const b of bindings) {
    let m = out.get(b.participant);
    if (!m) {
      m = {};
      out.set(b.participant, m);
    }
    m[b.source] = b;
  }
  return out;
}

