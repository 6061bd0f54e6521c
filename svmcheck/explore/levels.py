"""Hash-compact, multi-core, resumable breadth-first exploration.

The visited set holds 64-bit fingerprints (svmcheck/explore/fingerprint.py) in sorted numpy
runs, each with the state index it stands for; per state the explorer keeps its parent index,
incoming action and outcome (as the exact explorer does), so a trace is rebuilt by re-running
actions from the initial state, and any state by re-firing its path (``ex.states[i]``).
States themselves are held only while they are in the frontier.

Work is split between *expanders* (this process alone, or ``workers`` forked processes) and
the *coordinator* (this process):

* each expander holds a share of the frontier's states, generates their successors, dedups
  them exactly among themselves (a dict for the batch: most duplicates are interleaving
  diamonds found in the same level) and fingerprints the rest;
* the coordinator merges the expanders' candidates in the sequential BFS order (parent index,
  then successor position), keeps the first occurrence of each new fingerprint, and numbers new
  states exactly as the one-core exact explorer would;
* the expander that produced a winning occurrence keeps that state for the next level, and
  evaluates the state properties and liveness obligations on it.

So the unique-state count, the state numbering, the parents, and hence every verdict and every
counterexample, are the same for any number of workers (and, barring a fingerprint collision,
the same as the exact explorer).  Only numpy arrays and small lists cross process boundaries.

Checkpoints (``checkpoint=DIR``) are written at level boundaries: the arrays as ``.npy``
(``allow_pickle=False``) and the rest as ``meta.json`` — no pickle anywhere.  A resume rebuilds
the frontier by re-firing each stored state's incoming action on its parent, level by level.
"""
from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import pickle
import time
from array import array
from collections import deque

import numpy as np

from ..errors import SvmCheckError
from . import fingerprint as fpm
from .bfs import Exploration, Limits, _has_successor, no_gc, _property_checker, _stats, \
    _step_matches, _unhashable

KEY_SHIFT = 20          # order key = parent index << KEY_SHIFT | successor position
BATCH = 2048            # frontier states expanded between two merges


class CheckpointError(SvmCheckError):
    """A checkpoint directory that cannot be resumed."""


# --------------------------------------------------------------------------------------------
# the expander: successors, exact batch dedup, fingerprints, properties on won states
# --------------------------------------------------------------------------------------------

class Expander:
    def __init__(self, model, *, always, sometimes, step_witnesses, check_deadlock,
                 obligations, canon, expand):
        self.model, self.canon, self.expand = model, canon, expand
        self.always, self.sometimes = list(always), list(sometimes)
        self.steps = list(step_witnesses)
        self.check_deadlock = check_deadlock
        self.obligations = obligations        # [(p, q)] state predicates, two bits each
        self.frontier: list = []              # [(global index, state)] in index order
        self.pos = 0
        self.next_frontier: list = []
        self.cands: deque = deque()           # per batch not yet committed: slot -> state
        self.outcome_id: dict = {None: 0}
        self.me, self.parts = 0, 1           # this expander's fingerprint partition, of parts
        self.share = Interner()

    def add(self, items):
        """Adopt (index, state) pairs as frontier states (initial states, a resume)."""
        self.frontier.extend(items)
        self.frontier.sort(key=lambda x: x[0])
        return self.evaluate([(j, st) for j, st in items])

    def start_level(self):
        self.next_frontier.sort(key=lambda x: x[0])
        self.share.clear()
        self.frontier, self.next_frontier, self.pos = self.next_frontier, [], 0

    def any_successor(self):
        return any(_has_successor(self.model, st) for _, st in self.frontier)

    def expand_batch(self, hi: int) -> dict:
        """Expand own frontier states with index < hi."""
        model, canon, expand = self.model, self.canon, self.expand
        successors = model.successors
        seen: dict = {}
        cands = []
        self.cands.append(cands)
        fps = []
        t_key, t_slot, t_act, t_out = array("q"), array("i"), array("i"), array("i")
        first_tr = array("i")
        outcome_id = self.outcome_id
        new_outcomes = []
        terminal, deadlocks, witnesses = [], [], {}
        fr, pos = self.frontier, self.pos
        fingerprint = fpm.fingerprint
        while pos < len(fr) and fr[pos][0] < hi:
            i, st = fr[pos]
            fr[pos] = None             # an expanded state is not needed any more
            pos += 1
            succs = successors(st)
            full = len(succs)
            if expand is not None and full:
                succs = expand(st, succs)
            if not full:
                terminal.append(i)
                if self.check_deadlock and model.busy(st):
                    deadlocks.append(i)
            base = i << KEY_SHIFT
            for k, (a, out, nst) in enumerate(succs):
                if canon is not None:
                    nst = canon(nst)
                o = outcome_id.get(out)            # None -> 0
                if o is None:
                    o = outcome_id[out] = len(outcome_id)
                    new_outcomes.append(out)
                try:
                    slot = seen.get(nst)
                except TypeError as e:
                    raise _unhashable(model, a, e) from None
                if slot is None:
                    slot = seen[nst] = len(cands)
                    cands.append(nst)
                    fps.append(fingerprint(nst))
                    first_tr.append(len(t_key))
                t_key.append(base | k)
                t_slot.append(slot)
                t_act.append(a.id)
                t_out.append(o)
                if self.steps:
                    for p in [p for p in self.steps if _step_matches(p, a, out)]:
                        witnesses[p.name] = (base | k, i, a.id, out)
                        self.steps.remove(p)
        self.pos = pos
        return {"fps": np.frombuffer(b"".join(fps), dtype="<u8"), "first": _np(first_tr),
                "key": _np(t_key), "slot": _np(t_slot), "act": _np(t_act), "out": _np(t_out),
                "outcomes": new_outcomes, "terminal": terminal, "deadlocks": deadlocks,
                "witnesses": witnesses}

    def commit(self, won_slots, won_index, won_owner) -> dict:
        """Number the candidates this expander won (``won_index``): keep those it is to
        expand (``won_owner``), test them, and pack the others for their expanders."""
        cands, me, share = self.cands.popleft(), self.me, self.share
        keep, out = [], {}
        for s, j, o in zip(won_slots.tolist(), won_index.tolist(), won_owner.tolist()):
            if o == me:
                keep.append((j, share(cands[s])))
            else:
                out.setdefault(o, []).append((j, cands[s]))
        self.next_frontier.extend(keep)
        r = self.evaluate(keep)
        r["send"] = {o: pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
                     for o, items in out.items()}
        return r

    def receive(self, payloads) -> dict:
        """Adopt new states another expander found in this one's partition."""
        share = self.share
        items = [(j, share(st)) for blob in payloads for j, st in pickle.loads(blob)]
        self.next_frontier.extend(items)
        return self.evaluate(items)

    def evaluate(self, items) -> dict:
        """State properties (first index violating / reaching each) and obligation bits."""
        ex = _Found(self.model)
        check = _property_checker(ex, self.always, self.sometimes)
        obl = self.obligations
        bits = array("Q")
        for j, st in items:
            if check is not None:
                check(j, st)
            if obl:
                b = 0
                for k, (p, q) in enumerate(obl):
                    if p(st):
                        b |= 1 << (2 * k)
                    if q(st):
                        b |= 2 << (2 * k)
                bits.append(b)
        self.always = [p for p in self.always if p.name not in ex.violations]
        self.sometimes = [p for p in self.sometimes if p.name not in ex.witnesses]
        return {"violations": ex.violations, "witnesses": ex.witnesses,
                "bits_index": _np(array("q", [j for j, _ in items])) if obl else None,
                "bits": _np(bits) if obl else None}

    def decided(self, violations, witnesses, step_names):
        """Stop testing what another expander has already decided."""
        self.always = [p for p in self.always if p.name not in violations]
        self.sometimes = [p for p in self.sometimes if p.name not in witnesses]
        self.steps = [p for p in self.steps if p.name not in step_names]

class Interner:
    """Shares equal parts among the frontier's states, which is most of their memory.

    A successor shares the fields its step left alone with its parent, but once the parent is
    expanded and dropped, siblings that reached the same field value by different steps hold
    equal, separate tuples: an xe frontier state costs ~1 KB that way, ~300 bytes with every
    field of the state's parts (the World's fields, each process's locals) taken from a table.
    Tables are per position (a tuple of bools and one of ints can be equal in Python but
    fingerprint differently) and cleared at each level, so they hold only the frontier's
    values.  Equal values are interchangeable for the model (the exact explorer merges them
    the same way), so this changes memory only."""

    def __init__(self):
        self.tables: dict = {}

    def __call__(self, st):
        if type(st) is not tuple:
            return st
        tables, out = self.tables, []
        for k, part in enumerate(st):
            make = tuple if type(part) is tuple else getattr(type(part), "_make", None)
            if make is not None:
                tabs = tables.get((k, len(part)))
                if tabs is None:
                    tabs = tables[(k, len(part))] = [{} for _ in part]
                part = make(map(dict.setdefault, tabs, part, part))
            out.append(part)
        return tuple(out)

    def clear(self):
        self.tables.clear()


class _Found:
    def __init__(self, model):
        self.model, self.violations, self.witnesses = model, {}, {}


def _np(a: array) -> np.ndarray:
    return np.frombuffer(a, dtype={"q": "<i8", "i": "<i4", "Q": "<u8"}[a.typecode]).copy() \
        if len(a) else np.zeros(0, dtype={"q": "<i8", "i": "<i4", "Q": "<u8"}[a.typecode])


# --------------------------------------------------------------------------------------------
# expanders in other processes: the same object behind a pipe
# --------------------------------------------------------------------------------------------

def _serve(conn, expander):
    gc.disable()
    while True:
        msg = conn.recv()
        if msg is None:
            break
        name, args = msg
        try:
            conn.send(("ok", getattr(expander, name)(*args)))
        except SvmCheckError as e:
            conn.send(("error", (type(e).__name__, str(e))))
        except Exception as e:       # a bug: report it in the parent rather than hang
            conn.send(("error", ("RuntimeError", f"{type(e).__name__}: {e}")))
    conn.close()


class _Remote:
    def __init__(self, ctx, expander):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, expander), daemon=True)
        self.proc.start()
        child.close()

    def call(self, name, *args):
        self.conn.send((name, args))

    def result(self):
        status, value = self.conn.recv()
        if status == "error":
            from .. import errors
            cls = getattr(errors, value[0], SvmCheckError)
            raise cls(value[1]) if isinstance(cls, type) else SvmCheckError(value[1])
        return value

    def close(self):
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(timeout=5)


class _Local:
    """The expander in this process; results are queued like replies on a pipe."""

    def __init__(self, expander):
        self.e, self.values = expander, deque()

    def call(self, name, *args):
        self.values.append(getattr(self.e, name)(*args))

    def result(self):
        return self.values.popleft()

    def close(self):
        pass


def _all(pool, name, args_per=None, *args):
    for k, w in enumerate(pool):
        w.call(name, *(args_per[k] if args_per is not None else args))
    return [w.result() for w in pool]


# --------------------------------------------------------------------------------------------
# the coordinator
# --------------------------------------------------------------------------------------------

def _merge_runs(f1, i1, f2, i2):
    """Merge two sorted runs of distinct fingerprints in O(n), with no sort and no copy of
    the inputs beyond the result (12 bytes per state)."""
    pos = np.searchsorted(f1, f2) + np.arange(len(f2))
    n = len(f1) + len(f2)
    f, i = np.empty(n, dtype=f1.dtype), np.empty(n, dtype=i1.dtype)
    rest = np.ones(n, dtype=bool)
    rest[pos] = False
    f[pos], i[pos] = f2, i2
    f[rest], i[rest] = f1, i1
    return f, i


class _Visited:
    """Sorted runs of (fingerprint, index); runs of similar size are merged (as an LSM tree),
    so a lookup costs a binary search per run and an insert amortised O(log n) copies."""

    def __init__(self):
        self.runs: list = []

    def __len__(self):
        return sum(len(f) for f, _ in self.runs)

    def lookup(self, fps):
        """Index of each fingerprint, -1 where absent."""
        out = np.full(len(fps), -1, dtype=np.int64)
        for f, idx in self.runs:
            if not len(f):
                continue
            pos = np.searchsorted(f, fps)
            pos[pos == len(f)] = 0
            hit = f[pos] == fps
            out[hit] = idx[pos[hit]]
        return out

    def add(self, fps, idx):
        order = np.argsort(fps, kind="stable")
        self.runs.append((fps[order], idx[order].astype(np.int32)))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            self.runs[-2:] = [_merge_runs(*self.runs[-2], *self.runs[-1])]

    def arrays(self):
        if not self.runs:
            return np.zeros(0, "<u8"), np.zeros(0, "<i4")
        f = np.concatenate([f for f, _ in self.runs])
        i = np.concatenate([i for _, i in self.runs])
        order = np.argsort(f, kind="stable")
        return f[order], i[order]


def explore_compact(model, *, always=(), sometimes=(), step_witnesses=(), keep_edges=False,
                    check_deadlock=True, limits: Limits | None = None, progress=None,
                    canon=None, expand=None, obligations=(), workers: int = 1,
                    checkpoint: str | None = None, resume: str | None = None,
                    checkpoint_every: float = 30.0, options: dict | None = None) -> Exploration:
    """Like :func:`bfs.explore`, with a hash-compact visited set, ``workers`` processes and
    checkpoints.  ``obligations``: [(p, q)] predicates recorded per state as two bits each
    (``ex.obligation_bits``), since the states are not kept for liveness to test later."""
    with no_gc():
        return _explore_compact(model, always, sometimes, step_witnesses, keep_edges,
                                check_deadlock, limits or Limits(), progress, canon, expand,
                                obligations, workers, checkpoint, resume, checkpoint_every,
                                options)


def _explore_compact(model, always, sometimes, step_witnesses, keep_edges, check_deadlock,
                     limits, progress, canon, expand, obligations, workers, checkpoint,
                     resume, checkpoint_every, options) -> Exploration:
    t0 = time.perf_counter()
    always, sometimes, step_witnesses = list(always), list(sometimes), list(step_witnesses)
    ex = Exploration(model, None, array("i"), array("i"), array("i"), [None], [], [0])
    ex.canon, ex.hash_compact, ex.fingerprint_bits = canon, True, fpm.BITS
    ex.obligation_bits = array(_bits_type(len(obligations))) if obligations else None
    edges = (array("i"), array("i"), array("i"), array("i")) if keep_edges else None
    ex.edges = edges
    ex.workers = workers
    visited = _Visited()
    outcome_global = {None: 0}
    meta_extra = {"properties": sorted(p.name for p in always + sometimes + step_witnesses),
                  "keep_edges": keep_edges, "obligations": len(obligations),
                  "check_deadlock": check_deadlock, **(options or {})}
    mk = lambda: Expander(model, always=always, sometimes=sometimes,  # noqa: E731
                          step_witnesses=step_witnesses, check_deadlock=check_deadlock,
                          obligations=list(obligations), canon=canon, expand=expand)
    resumed = None
    if checkpoint is not None and resume is None:
        _check_writable(checkpoint)
    if resume is not None:
        resumed = _load(resume, model, meta_extra, ex, visited, outcome_global)
    pool = []
    try:
        if workers > 1:
            ctx = multiprocessing.get_context("fork")
            pool = []
            for k in range(workers):
                e = mk()
                e.me, e.parts = k, workers
                pool.append(_Remote(ctx, e))
        else:
            pool = [_Local(mk())]
        if resumed is None:
            items = _initial(model, canon, ex, visited)
        else:
            items = resumed
        shares = [items[k::len(pool)] for k in range(len(pool))]
        _absorb(ex, _all(pool, "add", [(s,) for s in shares]), pool)
        if resumed is not None:
            steps = [k for k, v in ex.witnesses.items() if isinstance(v, tuple)]
            _all(pool, "decided", None, dict(ex.violations), dict(ex.witnesses), steps)
        elapsed0 = ex.seconds
        _run(ex, pool, visited, outcome_global, limits, progress, t0, elapsed0, edges,
             checkpoint, checkpoint_every, meta_extra)
    finally:
        for w in pool:
            w.close()
    ex.seconds = elapsed0 + time.perf_counter() - t0
    ex.states = _Rebuilt(ex)
    if progress is not None:
        progress(_stats(ex, ex.depth, 0, ex.seconds), final=True)
    return ex


def _bits_type(n: int) -> str:
    """The smallest unsigned array type holding two bits per liveness obligation."""
    for tc in "BHIQ":
        if 2 * n <= 8 * array(tc).itemsize:
            return tc
    raise SvmCheckError(f"{n} liveness obligations do not fit the hash-compact explorer's "
                        f"64 bits per state; check fewer liveness properties, or use --exact")


def _initial(model, canon, ex, visited):
    items, fps = [], []
    for st in model.initial_states():
        if canon is not None:
            st = canon(st)
        f = fpm.fingerprint(st)
        if f in fps:
            continue
        j = len(items)
        fps.append(f)
        items.append((j, st))
        ex.parent.append(-1)
        ex.action.append(-1)
        ex.outcome.append(0)
        ex.inits.append(j)
    visited.add(np.frombuffer(b"".join(fps), dtype="<u8"), np.arange(len(items)))
    return items


def _absorb(ex, results, pool):
    """Merge what the expanders found about new states; tell them what is decided."""
    viol, wit = {}, {}
    idx, bits = [], []
    for r in results:
        for name, j in r["violations"].items():
            viol[name] = min(j, viol.get(name, j))
        for name, j in r["witnesses"].items():
            wit[name] = min(j, wit.get(name, j))
        if r["bits"] is not None:
            idx.append(r["bits_index"])
            bits.append(r["bits"])
    for name, j in viol.items():
        if name not in ex.violations:
            ex.violations[name] = j
    for name, j in wit.items():
        if name not in ex.witnesses:
            ex.witnesses[name] = j
    if ex.obligation_bits is not None and idx:
        idx, bits = np.concatenate(idx), np.concatenate(bits)
        order = np.argsort(idx)
        ob = ex.obligation_bits
        need = int(idx.max()) + 1 if len(idx) else 0
        if len(ob) < need:
            ob.extend([0] * (need - len(ob)))
        for j, b in zip(idx[order].tolist(), bits[order].tolist()):
            ob[j] = b
    if viol or wit:
        steps = [k for k, v in ex.witnesses.items() if isinstance(v, tuple)]
        _all(pool, "decided", None, dict(ex.violations), dict(ex.witnesses), steps)


def _run(ex, pool, visited, outcome_global, limits, progress, t_start, elapsed0, edges,
         checkpoint, every, meta_extra):
    """Expand level by level, in batches; ``t_start``: this invocation's start (limits are
    per invocation), ``elapsed0``: seconds spent by the runs this one resumes."""
    n = len(ex.parent)
    lo, hi = ex.level_starts[-1], n
    depth = len(ex.level_starts) - 1
    next_report = time.perf_counter() + 1.0
    last_ckpt = time.perf_counter()
    outcome_maps = [[0] for _ in pool]
    snapshot = _snapshot(ex, lo, hi) if checkpoint else None
    while lo < hi:
        if limits.max_depth is not None and depth >= limits.max_depth:
            if any(_all(pool, "any_successor")):
                ex.complete, ex.stop_reason = False, f"max-depth {limits.max_depth} reached"
            break
        # pipelined: the expanders expand the next batch while the coordinator merges this
        # one (a batch's expansion needs only this level's states, all known at its start)
        stride = BATCH * len(pool)
        b = min(hi, lo + stride)
        res = _all(pool, "expand_batch", None, b)
        while True:
            ahead = min(hi, b + stride) if b < hi else None
            if ahead is not None:
                for w in pool:
                    w.call("expand_batch", ahead)
            res_ahead = _merge(ex, pool, res, visited, outcome_global, outcome_maps, edges,
                               ahead is not None)
            ex.expanded = b
            now = time.perf_counter()
            if limits.max_states is not None and len(ex.parent) >= limits.max_states:
                ex.complete, ex.stop_reason = False, f"max-states {limits.max_states} reached"
            elif limits.time_limit is not None and now - t_start >= limits.time_limit:
                ex.complete, ex.stop_reason = False, f"time-limit {limits.time_limit}s reached"
            if not ex.complete:
                break
            if progress is not None and now >= next_report:
                ex.seconds = elapsed0 + now - t_start
                progress(_stats_n(ex, depth, len(ex.parent) - b, ex.seconds), final=False)
                next_report = now + 1.0
            if ahead is None:
                break
            b, res = ahead, res_ahead
        if not ex.complete:
            break
        _all(pool, "start_level")
        lo, hi = hi, len(ex.parent)
        if lo < hi:
            depth += 1
            ex.level_starts.append(lo)
        if checkpoint:
            snapshot = _snapshot(ex, lo, hi)
            if time.perf_counter() - last_ckpt >= every or lo == hi:
                ex.seconds = elapsed0 + time.perf_counter() - t_start
                _save(checkpoint, ex, visited, snapshot, meta_extra)
                last_ckpt = time.perf_counter()
    if checkpoint and not ex.complete:
        ex.seconds = elapsed0 + time.perf_counter() - t_start
        _save(checkpoint, ex, visited, snapshot, meta_extra)


def _stats_n(ex, depth, frontier, seconds):
    n = len(ex.parent)
    return {"states": n, "transitions": ex.transitions, "depth": depth, "frontier": frontier,
            "seconds": seconds, "states_per_s": n / seconds if seconds > 0 else 0.0}


def _merge(ex, pool, res, visited, outcome_global, outcome_maps, edges, ahead=False):
    """Number the batch's new states in sequential BFS order and hand them out.  ``ahead``:
    the expanders were sent the next batch before this merge; its results, which they send
    before this batch's commit replies, are returned."""
    for k, r in enumerate(res):
        for text in r["outcomes"]:
            g = outcome_global.get(text)
            if g is None:
                g = outcome_global[text] = len(ex.outcomes)
                ex.outcomes.append(text)
            outcome_maps[k].append(g)
    fps = np.concatenate([r["fps"] for r in res])
    owner = np.concatenate([np.full(len(r["fps"]), k, dtype=np.int32) for k, r in enumerate(res)])
    slot = np.concatenate([np.arange(len(r["fps"]), dtype=np.int32) for r in res])
    tr_off = np.cumsum([0] + [len(r["key"]) for r in res])
    keys = np.concatenate([r["key"] for r in res])
    acts = np.concatenate([r["act"] for r in res])
    outs = np.concatenate([np.asarray(outcome_maps[k], dtype=np.int32)[r["out"]]
                           for k, r in enumerate(res)]) if len(keys) else np.zeros(0, np.int32)
    first = np.concatenate([r["first"] + tr_off[k] for k, r in enumerate(res)])
    ckey = keys[first]
    n0 = len(ex.parent)
    gidx = np.full(len(fps), -1, dtype=np.int64)
    if len(fps):
        order = np.lexsort((ckey, fps))
        sf = fps[order]
        head = np.ones(len(sf), dtype=bool)
        head[1:] = sf[1:] != sf[:-1]
        group = np.cumsum(head) - 1
        winners = order[head]
        known = visited.lookup(fps[winners])
        new = winners[known < 0]
        new = new[np.argsort(ckey[new], kind="stable")]
        widx = known.copy()
        rank = np.empty(len(winners), dtype=np.int64)
        pos_new = np.flatnonzero(known < 0)
        # winners sorted by fp; new winners numbered in key order
        by_key = pos_new[np.argsort(ckey[winners[pos_new]], kind="stable")]
        rank[by_key] = n0 + np.arange(len(by_key))
        widx[pos_new] = rank[pos_new]
        gidx[order] = widx[group]
        visited.add(fps[new], gidx[new])
        ft = first[new]
        ex.parent.frombytes((keys[ft] >> KEY_SHIFT).astype("<i4").tobytes())
        ex.action.frombytes(acts[ft].astype("<i4").tobytes())
        ex.outcome.frombytes(outs[ft].astype("<i4").tobytes())
        part = _balance(owner[new], len(pool))
        won = [(slot[new][owner[new] == k], gidx[new][owner[new] == k],
                part[owner[new] == k]) for k in range(len(pool))]
    else:
        won = [(np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int32))
               for _ in pool]
    ex.transitions += len(keys)
    terminal = sorted(j for r in res for j in r["terminal"])
    ex.terminal.extend(terminal)
    ex.deadlocks.extend(sorted(j for r in res for j in r["deadlocks"]))
    for name, w in sorted((kv for r in res for kv in r["witnesses"].items()),
                          key=lambda kv: kv[1][0]):
        if name not in ex.witnesses:
            _, i, act, out = w
            ex.witnesses[name] = (i, act, outcome_global[out])
    if edges is not None and len(keys):
        tr_g = np.concatenate([gidx[owner == k][r["slot"]] for k, r in enumerate(res)])
        eo = np.argsort(keys, kind="stable")
        edges[0].frombytes((keys[eo] >> KEY_SHIFT).astype("<i4").tobytes())
        edges[1].frombytes(tr_g[eo].astype("<i4").tobytes())
        edges[2].frombytes(acts[eo].astype("<i4").tobytes())
        edges[3].frombytes(outs[eo].astype("<i4").tobytes())
    for w, args in zip(pool, won):
        w.call("commit", *args)
    res_ahead = [w.result() for w in pool] if ahead else None
    done = [w.result() for w in pool]
    if len(pool) > 1:
        # surplus new states travel (pickled once) to the expanders that found fewer, which
        # keeps the expanders' shares of every level even
        inbox = [[r["send"][k] for r in done if k in r["send"]] for k in range(len(pool))]
        done += _all(pool, "receive", [(box,) for box in inbox])
    _absorb(ex, done, pool)
    return res_ahead


def _balance(winner, parts: int) -> np.ndarray:
    """Which expander keeps each new state of a batch: the one that found it, except that an
    expander that found more than its share gives some, spread over the batch, to those that
    found fewer; so every expander holds about 1/parts of every stretch of indices (a batch
    expands a stretch) while few states are pickled across."""
    dest = winner.astype(np.int32)
    if parts == 1 or not len(dest):
        return dest
    counts = np.bincount(dest, minlength=parts)
    share = -(-len(dest) // parts)
    needy = [[k, share - c] for k, c in enumerate(counts) if c < share]
    for k in range(parts):
        extra = counts[k] - share
        if extra <= 0:
            continue
        mine = np.flatnonzero(dest == k)
        mine = mine[np.arange(extra) * len(mine) // extra]   # spread over the batch
        at = 0
        for slot in needy:
            if at == len(mine):
                break
            take = min(slot[1], len(mine) - at)
            dest[mine[at:at + take]] = slot[0]
            slot[1] -= take
            at += take
    return dest


# --------------------------------------------------------------------------------------------
# states on demand: re-firing stored actions
# --------------------------------------------------------------------------------------------

class _Rebuilt:
    """``ex.states`` of a hash-compact run: ``[i]`` re-fires the path to state i; iteration
    replays level by level (each state's incoming action fired once on its parent)."""

    def __init__(self, ex):
        self.ex = ex

    def __len__(self):
        return len(self.ex.parent)

    def _inits(self):
        model, canon = self.ex.model, self.ex.canon
        out, seen = [], set()
        for st in model.initial_states():
            st = canon(st) if canon is not None else st
            f = fpm.fingerprint(st)
            if f not in seen:
                seen.add(f)
                out.append(st)
        return out

    def _step(self, j, st):
        ex = self.ex
        r = ex.model.fire(ex.model.actions[ex.action[j]], st)
        if r is None:
            raise SvmCheckError(f"state {j} cannot be rebuilt: its stored action is not "
                                f"enabled; the model changed since the run")
        return ex.canon(r[1]) if ex.canon is not None else r[1]

    def __getitem__(self, i):
        if i < 0:
            i += len(self)
        path = self.ex.path_to(i)
        st = self._inits()[self.ex.inits.index(path[0])]
        for j in path[1:]:
            st = self._step(j, st)
        return st

    def __iter__(self):
        return (st for _, st in self.levels())

    def levels(self, upto: int | None = None):
        """(index, state) in index order, for states < upto."""
        ex = self.ex
        n = len(self) if upto is None else upto
        prev = {}
        for j, st in zip(ex.inits, self._inits()):
            if j < n:
                prev[j] = st
                yield j, st
        starts = list(ex.level_starts) + [len(self)]
        for lvl in range(1, len(starts) - 1):
            cur = {}
            for j in range(starts[lvl], min(starts[lvl + 1], n)):
                st = self._step(j, prev[ex.parent[j]])
                cur[j] = st
                yield j, st
            prev = cur


# --------------------------------------------------------------------------------------------
# checkpoints: .npy arrays + meta.json, validated on load
# --------------------------------------------------------------------------------------------

SCHEMA = "svmcheck-checkpoint"
SCHEMA_VERSION = 1
ARRAYS = ("fps", "fps_index", "parent", "action", "outcome", "terminal", "deadlocks")
EDGE_ARRAYS = ("edge_src", "edge_dst", "edge_act", "edge_out")


def _snapshot(ex, lo, hi) -> dict:
    """What a checkpoint at this level boundary records besides the arrays (states < hi,
    states < lo expanded)."""
    return {"states": hi, "expanded": lo, "transitions": ex.transitions,
            "n_terminal": len(ex.terminal), "n_deadlocks": len(ex.deadlocks),
            "n_edges": len(ex.edges[0]) if ex.edges is not None else 0,
            "level_starts": list(ex.level_starts), "inits": list(ex.inits),
            "outcomes": list(ex.outcomes),
            "violations": {k: v for k, v in ex.violations.items() if v < hi},
            "witnesses": {k: list(v) if isinstance(v, tuple) else v
                          for k, v in ex.witnesses.items()
                          if (v[0] if isinstance(v, tuple) else v) < (lo if isinstance(v, tuple) else hi)}}


def _check_writable(directory):
    """A checkpoint replaces its directory: refuse one that holds anything else."""
    if not os.path.exists(directory):
        return
    if not os.path.isdir(directory):
        raise CheckpointError(f"--checkpoint '{directory}' is a file; pass a directory")
    if os.listdir(directory) and not os.path.isfile(os.path.join(directory, "meta.json")):
        raise CheckpointError(f"--checkpoint '{directory}' holds files that are not an "
                              f"svmcheck checkpoint; pass an empty or new directory")


def _config_digest(model) -> str:
    return hashlib.sha1(json.dumps(model.config.as_dict(), sort_keys=True).encode()).hexdigest()


def _save(directory, ex, visited, snap, meta_extra):
    os.makedirs(directory, exist_ok=True)
    n, lo = snap["states"], snap["expanded"]
    fps, idx = visited.arrays()
    keep = idx < n
    arrays = {"fps": fps[keep], "fps_index": idx[keep],
              "parent": np.frombuffer(ex.parent, "<i4")[:n],
              "action": np.frombuffer(ex.action, "<i4")[:n],
              "outcome": np.frombuffer(ex.outcome, "<i4")[:n],
              "terminal": np.asarray(ex.terminal[:snap["n_terminal"]], dtype="<i8"),
              "deadlocks": np.asarray(ex.deadlocks[:snap["n_deadlocks"]], dtype="<i8")}
    if ex.edges is not None:
        for name, a in zip(EDGE_ARRAYS, ex.edges):
            arrays[name] = np.frombuffer(a, "<i4")[:snap["n_edges"]]
    if ex.obligation_bits is not None:
        arrays["obligation_bits"] = np.frombuffer(ex.obligation_bits,
                                                  ex.obligation_bits.typecode)[:n]
    tmp = directory.rstrip("/") + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    for name, a in arrays.items():
        np.save(os.path.join(tmp, name + ".npy"), np.ascontiguousarray(a), allow_pickle=False)
    meta = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
            "fingerprint": fpm.ALGORITHM, "model": ex.model.name,
            "config": ex.model.config.as_dict(), "config_digest": _config_digest(ex.model),
            "options": meta_extra, "seconds": ex.seconds, **snap,
            "arrays": {k: int(len(v)) for k, v in arrays.items()}}
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    # replace atomically enough: the old directory stays valid until the new one is complete
    old = directory.rstrip("/") + ".old"
    if os.path.exists(old):
        _rmtree(old)
    os.replace(directory, old)
    os.replace(tmp, directory)
    _rmtree(old)


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def _load(directory, model, meta_extra, ex, visited, outcome_global):
    """Fill ``ex`` and ``visited`` from a checkpoint; return the frontier as (index, state)."""
    def bad(what):
        return CheckpointError(f"checkpoint '{directory}' {what}; start a fresh run with "
                               f"--checkpoint (or pass the directory a run wrote)")
    path = os.path.join(directory, "meta.json")
    try:
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise bad("has no meta.json (not a checkpoint directory)") from None
    except (OSError, json.JSONDecodeError) as e:
        raise bad(f"has an unreadable meta.json ({e})") from None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise bad("is not an svmcheck checkpoint")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise bad(f"has schema_version {meta.get('schema_version')!r}, this svmcheck reads "
                  f"{SCHEMA_VERSION}")
    if meta.get("fingerprint") != fpm.ALGORITHM:
        raise bad(f"uses fingerprint {meta.get('fingerprint')!r}, not {fpm.ALGORITHM}")
    if meta.get("model") != model.name or meta.get("config_digest") != _config_digest(model):
        raise bad(f"is for model {meta.get('model')!r} with config {meta.get('config')}, not "
                  f"{model.name} with {model.config.as_dict()}")
    if meta.get("options") != json.loads(json.dumps(meta_extra)):
        raise bad(f"was written with other options {meta.get('options')} (now {meta_extra})")
    try:
        n, lo = int(meta["states"]), int(meta["expanded"])
        names = list(ARRAYS) + (list(EDGE_ARRAYS) if ex.edges is not None else []) + \
            (["obligation_bits"] if ex.obligation_bits is not None else [])
        arr = {}
        for name in names:
            a = np.load(os.path.join(directory, name + ".npy"), allow_pickle=False)
            if a.ndim != 1 or len(a) != meta["arrays"][name]:
                raise ValueError(f"{name}.npy has shape {a.shape}")
            arr[name] = a
        starts = [int(x) for x in meta["level_starts"]]
        inits = [int(x) for x in meta["inits"]]
        outcomes = meta["outcomes"]
        if not (len(arr["parent"]) == len(arr["action"]) == len(arr["outcome"]) == n
                and len(arr["fps"]) == len(arr["fps_index"]) == n and 0 <= lo <= n
                and starts[0] == 0 and starts == sorted(starts) and starts[-1] == lo
                and outcomes[0] is None and all(isinstance(o, str) for o in outcomes[1:])):
            raise ValueError("inconsistent sizes")
        p = arr["parent"]
        if n and (p.max() >= n or (p[lo:] >= lo).any() or (p[lo:] < 0).any()
                  or arr["action"].max() >= len(model.actions)
                  or arr["outcome"].max() >= len(outcomes)
                  or np.sort(arr["fps_index"]).tolist() != list(range(n))):
            raise ValueError("indices out of range")
        violations = {str(k): int(v) for k, v in meta["violations"].items()}
        witnesses = {str(k): (tuple(int(x) for x in v) if isinstance(v, list) else int(v))
                     for k, v in meta["witnesses"].items()}
        transitions, seconds = int(meta["transitions"]), float(meta["seconds"])
    except (KeyError, TypeError, ValueError, OSError) as e:
        raise bad(f"is corrupt or incomplete ({type(e).__name__}: {e})") from None
    ex.parent.frombytes(arr["parent"].astype("<i4").tobytes())
    ex.action.frombytes(arr["action"].astype("<i4").tobytes())
    ex.outcome.frombytes(arr["outcome"].astype("<i4").tobytes())
    ex.outcomes[:] = outcomes
    outcome_global.update({o: k for k, o in enumerate(outcomes)})
    ex.inits[:] = inits
    ex.level_starts[:] = starts
    ex.expanded, ex.transitions, ex.seconds = lo, transitions, seconds
    ex.terminal[:] = arr["terminal"].tolist()
    ex.deadlocks[:] = arr["deadlocks"].tolist()
    ex.violations.update(violations)
    ex.witnesses.update(witnesses)
    if ex.edges is not None:
        for a, name in zip(ex.edges, EDGE_ARRAYS):
            a.frombytes(arr[name].astype("<i4").tobytes())
    if ex.obligation_bits is not None:
        ex.obligation_bits.frombytes(
            arr["obligation_bits"].astype(ex.obligation_bits.typecode).tobytes())
    visited.runs = [(arr["fps"].astype("<u8"), arr["fps_index"].astype(np.int32))]
    # the frontier: states [lo, n), rebuilt by replaying levels; checked against their prints
    fp_of = np.empty(n, dtype="<u8")
    fp_of[arr["fps_index"]] = arr["fps"]
    items = [(j, st) for j, st in _Rebuilt(ex).levels(n) if j >= lo]
    for j, st in items:
        if np.frombuffer(fpm.fingerprint(st), "<u8")[0] != fp_of[j]:
            raise bad(f"does not match the model: state {j} rebuilds to another fingerprint")
    return items
