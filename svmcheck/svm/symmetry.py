"""GPU symmetry of the page-level SVM world: which GPUs are interchangeable, and how a
permutation of GPUs acts on a state.

Two GPUs are interchangeable when every per-GPU parameter treats them alike: the link matrix
(a permutation must preserve the link between every pair, svm/topology.py), the access kinds
each GPU issues (``gpu_kinds``) and whatever a model adds through
``SvmModel.gpu_signature``.  ``gpu_pages``, ``gpu_accesses``, ``sys_atomics`` and the VRAM size
are the same for every GPU by construction.

A permutation ``pi`` (``pi[g]`` is g's new number) renames everything GPU-indexed
(state.py): ``gpte``, ``ranges``, ``stale`` and the per-GPU budget slots are moved; VRAM
frames ``sys_frames + g*vram_pages + k`` and allocations ``g*vram_pages + k`` are renumbered
keeping ``k`` (frames and allocation slots are taken lowest-free-first *per GPU*, so the
renaming commutes with allocation), both where they index (``fver``, ``fmap``, ``falloc``,
``flock``, ``arefs``) and where they are stored (``pte``, ``gpte``, ``falloc``, range
``pfns``, process locals named in ``SvmModel.frame_locals``); the processes of flows over
``g`` trade places.  System frames are not renamed (renaming them is not an automorphism: a
stale GPU PTE can tell two free frames apart).

The canonical form: each GPU's *view* of the state (its process, budget, notifier flag,
PTEs, ranges and VRAM, with frames written relative to the GPU) is computed once; the
permutations that list the views in the least order are kept and the least permuted state
among them is the representative.  A permutation permutes the views, so the choice does not
depend on which member of the orbit we start from (exact: one representative per orbit), and
usually one permutation remains, so a state is rebuilt at most once.
"""
from __future__ import annotations

import itertools

from ..explore.symmetry import Symmetry, least
from .state import NO
from .topology import link


def gpu_group(model) -> list[tuple]:
    """Every permutation of the GPUs that preserves links and per-GPU parameters."""
    c = model.config
    n = c.gpus
    sig = [model.gpu_signature(g) for g in range(n)]
    out = []
    for pi in itertools.permutations(range(n)):
        if any(sig[pi[g]] != sig[g] for g in range(n)):
            continue
        if any(link(c, pi[g], pi[h]) != link(c, g, h) for g in range(n) for h in range(n)):
            continue
        out.append(pi)
    return out


def asymmetry(model) -> str | None:
    """Why no two GPUs are interchangeable (for the refusal message), or None."""
    c = model.config
    if c.gpus < 2:
        return "it has one GPU"
    if len(gpu_group(model)) > 1:
        return None
    return (f"no permutation of its {c.gpus} GPUs preserves the links "
            f"({c.links or 'default_link=' + str(c.default_link)}) and per-GPU parameters "
            f"(gpu_kinds={c.gpu_kinds!r})")


class _Perm:
    """One GPU permutation, with its frame, allocation and process renaming tables."""

    def __init__(self, model, pi: tuple):
        c = model.config
        self.pi = pi
        sysf, vp, P = c.sys_frames, c.vram_pages, c.pages
        n_frames = sysf + c.gpus * vp
        fm = list(range(sysf)) + [sysf + pi[g] * vp + k for g in range(c.gpus)
                                  for k in range(vp)]
        am = [pi[g] * vp + k for g in range(c.gpus) for k in range(vp)]
        # a trailing NO makes table[NO] == NO (NO is -1)
        self.fm = tuple(fm) + (NO,)
        self.gm = tuple(pi) + (NO,)
        self.am = tuple(am) + (NO,)
        finv = [0] * n_frames
        for f, t in enumerate(fm):
            finv[t] = f
        self.finv = tuple(finv)
        ainv = [0] * len(am)
        for a, t in enumerate(am):
            ainv[t] = a
        self.ainv = tuple(ainv)
        ginv = [0] * c.gpus
        for g, t in enumerate(pi):
            ginv[t] = g
        self.ginv = tuple(ginv)
        self.gpte_src = tuple(ginv[i // P] * P + i % P for i in range(c.gpus * P))
        self.sysf = sysf
        # processes: the process of a flow over g takes the place of its image's
        where = {}
        for p in model.procs:
            key = (p.flow.name, tuple(sorted(p.params.items())))
            where[key] = p.index
        src = [0] * len(model.procs)
        for p in model.procs:
            params = {k: (pi[v] if k in model.gpu_params else v) for k, v in p.params.items()}
            src[where[(p.flow.name, tuple(sorted(params.items())))]] = p.index
        self.proc_src = tuple(src)
        self.frame_slots = tuple(
            tuple(p.local_index[n] for n in model.frame_locals if n in p.local_index)
            for p in model.procs)

    # ---- values -----------------------------------------------------------------------
    def pfns(self, pfns):
        """A tuple of (frame, writable) entries (None: not valid), as hmm and ranges keep."""
        fm, s = self.fm, self.sysf
        if all(e is None or e[0] < s for e in pfns):
            return pfns
        return tuple(e if e is None or e[0] < s else (fm[e[0]],) + tuple(e[1:]) for e in pfns)

    def local(self, v):
        if isinstance(v, tuple):
            return self.pfns(v)
        return self.fm[v]

    # ---- World fields -------------------------------------------------------------------
    def pte(self, w):
        fm, s = self.fm, self.sysf
        pte = w.pte
        if all(f < s for _, f in pte):
            return pte
        return tuple((k, fm[f]) for k, f in pte)

    def by_frame(self, t):
        return tuple([t[i] for i in self.finv])

    def falloc(self, w):
        am, fa = self.am, w.falloc
        return tuple([am[fa[i]] for i in self.finv])

    def arefs(self, w):
        r = w.arefs
        return tuple([r[i] for i in self.ainv])

    def gpte(self, w):
        fm, g = self.fm, w.gpte
        return tuple([(fm[g[i][0]],) + g[i][1:] for i in self.gpte_src])

    def ranges(self, w):
        out = []
        for g in self.ginv:
            rs = w.ranges[g]
            if any(r.pfns for r in rs):
                rs = tuple(r._replace(pfns=self.pfns(r.pfns)) if r.pfns else r for r in rs)
            out.append(rs)
        return tuple(out)

    def stale(self, w):
        s = w.stale
        return tuple([s[g] for g in self.ginv])

    def budget(self, w):
        b = w.budget
        n = len(self.ginv)
        return tuple([b[g] for g in self.ginv]) + b[n:]

    def procs(self, procs):
        out = []
        for i, j in enumerate(self.proc_src):
            t = procs[j]
            slots = self.frame_slots[j]
            if slots and t[0]:
                t = list(t)
                for k in slots:
                    t[k] = self.local(t[k])
                t = tuple(t)
            out.append(t)
        return tuple(out)


# how a permutation rebuilds each World field that mentions GPUs (the others stay as they
# are), in the World's field order
def _field_fns(model, fields):
    table = {
        "pte": lambda P, w: P.pte(w),
        "fver": lambda P, w: P.by_frame(w.fver),
        "fmap": lambda P, w: P.by_frame(w.fmap),
        "falloc": lambda P, w: P.falloc(w),
        "flock": lambda P, w: P.by_frame(w.flock),
        "arefs": lambda P, w: P.arefs(w),
        "gpte": lambda P, w: P.gpte(w),
        "ranges": lambda P, w: P.ranges(w),
        "stale": lambda P, w: P.stale(w),
        "budget": lambda P, w: P.budget(w),
    }
    table.update(model.permute_fields())
    return [(name, table[name]) for name in fields if name in table]


def gpu_symmetry(model) -> Symmetry | None:
    """The model's GPU symmetry (None with fewer than two interchangeable GPUs)."""
    group = gpu_group(model)
    if len(group) < 2:
        return None
    c = model.config
    ident = tuple(range(c.gpus))
    perms = {pi: _Perm(model, pi) for pi in group}
    views = _Views(model)
    fns = []
    inv = {pi: perms[pi].ginv for pi in group}

    def apply(pi, st):
        w, procs = st
        if not fns:
            fns.extend((w._fields.index(name), fn) for name, fn in _field_fns(model, w._fields))
        P = perms[pi]
        vals = list(w)
        for i, fn in fns:
            vals[i] = fn(P, w)
        return (w._make(vals), P.procs(procs))

    def least_order(cands, sig):
        best, out = None, []
        for pi in cands:
            seq = [sig[g] for g in inv[pi]]
            if best is None or seq < best:
                best, out = seq, [pi]
            elif seq == best:
                out.append(pi)
        return out

    def canon(st):
        # the permutations that list the GPUs' views in the least order (the cheap part of
        # the views first), then the least state among them (usually one is left)
        cands = least_order(group, views.cheap(st))
        if len(cands) > 1:
            cands = least_order(cands, views.full(st))
        if len(cands) == 1:
            return st if cands[0] == ident else apply(cands[0], st)
        return least([st if pi == ident else apply(pi, st) for pi in cands])

    names = ",".join(map(str, sorted({g for pi in group for g in range(len(pi))
                                      if pi[g] != g})))
    return Symmetry(f"GPUs {names}", [pi for pi in group if pi != ident], apply, canon=canon)


class _Views:
    """What each GPU sees of a state, with frame and allocation numbers made relative to the
    GPU (its own VRAM, another GPU's, system): a permutation of the GPUs permutes the views
    and changes nothing else, so sorting by view is a canonical choice of permutation."""

    def __init__(self, model):
        c = model.config
        sysf, vp, P = c.sys_frames, c.vram_pages, c.pages
        self.P, self.n = P, c.gpus
        self.rel = []
        self.blocks = []
        self.arel = []
        for g in range(c.gpus):
            own = range(sysf + g * vp, sysf + (g + 1) * vp)
            t = [f if f < sysf else (f - sysf) % vp + (1000 if f in own else 2000)
                 for f in range(sysf + c.gpus * vp)]
            self.rel.append(tuple(t) + (NO,))
            self.blocks.append((own.start, own.stop, g * vp, (g + 1) * vp))
            self.arel.append(tuple(a - g * vp if g * vp <= a < (g + 1) * vp else 1000 + a % vp
                                   for a in range(c.gpus * vp)) + (NO,))
        self.procs = [[p.index for p in model.procs if any(
            p.params.get(k) == g for k in model.gpu_params)] for g in range(c.gpus)]
        self.slots = [tuple(p.local_index[n] for n in model.frame_locals if n in p.local_index)
                      for p in model.procs]
        self.extra = model.gpu_view

    def cheap(self, st) -> list:
        """Per GPU: its processes (frames relative), budget and notifier flag."""
        w, procs = st
        out = []
        for g in range(self.n):
            ps = []
            for i in self.procs[g]:
                t = procs[i]
                if t[0] and self.slots[i]:
                    t = list(t)
                    for k in self.slots[i]:
                        t[k] = self._rel(t[k], self.rel[g])
                    t = tuple(t)
                ps.append(t)
            out.append((tuple(ps), w.budget[g], w.stale[g]))
        return out

    def full(self, st) -> list:
        """Per GPU: PTEs, ranges, VRAM frames and allocations, relative to the GPU."""
        w, procs = st
        P = self.P
        out = []
        for g in range(self.n):
            rel, arel = self.rel[g], self.arel[g]
            fs, fe, a0, a1 = self.blocks[g]
            gpte = tuple([(rel[f], perm) for f, perm in w.gpte[g * P:(g + 1) * P]])
            rs = tuple([r[:-1] + (self._rel(r.pfns, rel),) for r in w.ranges[g]])
            out.append((gpte, rs, w.fver[fs:fe], w.fmap[fs:fe], w.flock[fs:fe],
                        w.arefs[a0:a1], tuple([arel[a] for a in w.falloc[fs:fe]]),
                        self.extra(w, g, rel)))
        return out

    @staticmethod
    def _rel(v, rel):
        if isinstance(v, tuple):
            return tuple([e if e is None else (rel[e[0]],) + e[1:] for e in v])
        return rel[v]
