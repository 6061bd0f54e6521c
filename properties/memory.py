"""Memory properties: memory safety (no use of freed device memory, exact refcounts) and VMA respect."""
from svmcheck import always, clause
from svmcheck.svm.state import FREE, NO, Cpte


@always
def memory_safety(m, s):
    """No CPU or GPU PTE maps a freed frame; refcounts never go negative; an allocation's
    zdd refcount equals the device pages that use it, so it is freed exactly when its last
    page leaves; a frame no PTE maps is free (no leak).

    Catches use-after-free of VRAM (CVE-2022-3523-style, "drm/xe/svm: Fix a potential bo
    UAF"), a BO freed while pages still use it (seed 003), and leaked allocations.
    """
    c = m.config
    for a, (kind, f) in enumerate(s.pte):
        if kind != Cpte.NONE and not clause(s.fver[f] != FREE,
                                            "address {a} maps frame {f}, which is free", a=a, f=f):
            return False
    for i, (f, _) in enumerate(s.gpte):
        if f != NO and not clause(s.fver[f] != FREE, "GPU{g} maps page {p} to frame {f}, "
                                  "which is free", g=i // c.pages, p=i % c.pages, f=f):
            return False
    users_of = [0] * len(s.arefs)       # one pass over the frames, not one per allocation
    for f, alloc in enumerate(s.falloc):
        if alloc != NO and s.fver[f] != FREE:
            users_of[alloc] += 1
    for alloc, refs in enumerate(s.arefs):
        users = users_of[alloc]
        if not clause(refs == users and refs >= 0,
                      "allocation {a} has refcount {r} but {u} device pages use it",
                      a=alloc, r=refs, u=users):
            return False
    for f in range(len(s.fver)):
        if s.fver[f] != FREE and not clause(s.fmap[f] > 0 or s.flock[f],
                                            "frame {f} is allocated but nothing maps it (leak)",
                                            f=f):
            return False
    return True


@always
def vma_respect(m, s):
    """Nothing is populated or mapped outside a CPU VMA, and no live GPU range spans two VMAs
    or a hole.

    Catches a migration / prefetch window not clipped to the CPU VMA (seed 000) and GPU
    faults on addresses with no VMA that map something anyway (seed 001).
    """
    c = m.config
    for a, (kind, _) in enumerate(s.pte):
        if kind != Cpte.NONE and not clause(s.vma[a % c.pages] != NO,
                                            "page {p} is populated but has no VMA",
                                            p=a % c.pages):
            return False
    for g in range(c.gpus):
        for r in s.ranges[g]:
            if r.unmapped:
                continue
            vmas = {s.vma[p] for p in range(r.start, r.end)}
            if not clause(len(vmas) == 1 and NO not in vmas,
                          "GPU{g} range [{a},{b}) covers VMAs {v} (-1: none)", g=g, a=r.start,
                          b=r.end, v=sorted(vmas)):
                return False
        for p in range(c.pages):
            if s.gpte[g * c.pages + p][0] != NO and not clause(
                    s.vma[p] != NO, "GPU{g} maps page {p}, which has no VMA", g=g, p=p):
                return False
    return True
