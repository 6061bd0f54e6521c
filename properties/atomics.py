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
    c = m.config
    for g in range(c.gpus):
        for p in range(c.pages):
            f, perm = s.gpte[g * c.pages + p]
            if f == NO or perm != Perm.ATOMIC:
                continue
            o = owner(c, f)
            if not clause(atomic_ok(c, g, o), "GPU{g} may run atomics on page {p} in {where} "
                          "over a path without atomics", g=g, p=p,
                          where="system memory" if o < 0 else f"GPU{o}'s VRAM"):
                return False
    return True
