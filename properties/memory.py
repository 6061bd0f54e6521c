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
    # each clause is one expression (``|``/``&``, not ``if``/``or``): Z3 gets one term per
    # clause instead of a path per case (docs/z3.md, "Properties are evaluated with terms")
    c = m.config
    for a, (kind, f) in enumerate(s.pte):
        if not clause((kind == Cpte.NONE) | (s.fver[f] != FREE),
                      "address {a} maps frame {f}, which is free", a=a, f=f):
            return False
    for i, (f, _) in enumerate(s.gpte):
        if not clause((f == NO) | (s.fver[f] != FREE),
                      "GPU{g} maps page {p} to frame {f}, which is free",
                      g=i // c.pages, p=i % c.pages, f=f):
            return False
    frames = range(len(s.fver))
    for alloc, refs in enumerate(s.arefs):
        users = sum((s.falloc[f] == alloc) & (s.fver[f] != FREE) for f in frames)
        if not clause((refs == users) & (refs >= 0),
                      "allocation {a} has refcount {r} but {u} device pages use it",
                      a=alloc, r=refs, u=users):
            return False
    for f in frames:
        if not clause((s.fver[f] == FREE) | (s.fmap[f] > 0) | s.flock[f],
                      "frame {f} is allocated but nothing maps it (leak)", f=f):
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
    P = c.pages
    for a, (kind, _) in enumerate(s.pte):
        if not clause((kind == Cpte.NONE) | (s.vma[a % P] != NO),
                      "page {p} is populated but has no VMA", p=a % P):
            return False
    for g in range(c.gpus):
        for r in s.ranges[g]:
            # one VMA over [start, end): every page of the range has one, the same as the
            # next page's -- one expression over all pages, not a path per bound and VMA id
            one = r.start < r.end
            for p in range(P):
                inside = (r.start <= p) & (p < r.end)
                one = one & (inside <= (s.vma[p] != NO))
                if p + 1 < P:
                    one = one & ((inside & (p + 1 < r.end)) <= (s.vma[p] == s.vma[p + 1]))
            if not (r.unmapped | one):      # the VMAs are listed only here (it fixes them)
                vmas = {s.vma[p] for p in range(r.start, r.end)}
                return clause(False, "GPU{g} range [{a},{b}) covers VMAs {v} (-1: none)",
                              g=g, a=r.start, b=r.end, v=sorted(vmas))
        for p in range(P):
            if not clause((s.gpte[g * P + p][0] == NO) | (s.vma[p] != NO),
                          "GPU{g} maps page {p}, which has no VMA", g=g, p=p):
                return False
    return True
