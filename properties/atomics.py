"""Atomic safety."""
from svmcheck import always, clause
from svmcheck.svm.mm import owner
from svmcheck.svm.state import NO, Perm
from svmcheck.svm.topology import atomic_ok


@always
def atomic_safety(m, s):
    """A GPU PTE that grants atomics maps memory the GPU reaches over an atomic-capable path.

    Catches an atomic fault satisfied from a foreign device's VRAM over PCIe peer-to-peer, or
    from system memory on a platform without system atomics (seed 004: "-EFAULT / cpages == 0
    taken as already where it belongs").
    """
    # one expression per PTE (``|`` over the memories, not ``owner``, whose tests split the
    # frame by memory): Z3 gets a term, not a path per memory and permission; only a failing
    # PTE's frame is split, to name its memory.
    # atomic_ok is asked per memory, not per frame, as this runs on every explored state, and
    # not cached: under bmc --free links the links are symbolic, and each path fixes them
    c = m.config
    n_sys, vp = c.sys_frames, c.vram_pages
    for g in range(c.gpus):
        # [lo, hi) of the frames of each memory GPU g's atomics are honoured in
        spans = [(0, n_sys)] if atomic_ok(c, g, -1) else []
        spans += [(n_sys + o * vp, n_sys + (o + 1) * vp) for o in range(c.gpus)
                  if atomic_ok(c, g, o)]
        for p in range(c.pages):
            f, perm = s.gpte[g * c.pages + p]
            ok = (f == NO) | (perm != Perm.ATOMIC)
            for lo, hi in spans:
                ok = ok | ((lo <= f) & (f < hi))
            if not ok:
                o = owner(c, f)
                return clause(False, "GPU{g} may run atomics on page {p} in {where} over a "
                              "path without atomics", g=g, p=p,
                              where="system memory" if o < 0 else f"GPU{o}'s VRAM")
    return True
