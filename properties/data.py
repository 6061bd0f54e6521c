"""Data properties: coherence, no lost data, copy-on-write isolation."""
from svmcheck import always, clause
from svmcheck.svm.state import FREE, NO, Cpte


@always
def coherence(m, s):
    """Every usable GPU PTE maps the frame the CPU page table says holds the address.

    Catches a stale GPU mapping: a bind that did not re-check validity under the notifier
    lock after a racing migration, munmap or COW break (protocol.md §4.1), so GPU reads
    return old data and GPU writes land in a page the process no longer uses.
    """
    c = m.config
    for g in range(c.gpus):
        for p in range(c.pages):
            f = s.gpte[g * c.pages + p][0]
            if f == NO:
                continue
            kind, cf = s.pte[p]
            if not clause(kind != Cpte.NONE and cf == f,
                          "GPU{g} maps page {p} to frame {f}, but the CPU page table has "
                          "{k} frame {cf} (version {v} vs latest {l})", g=g, p=p, f=f,
                          k=Cpte(kind).name, cf=cf, v=s.fver[f], l=s.latest[p]):
                return False
    return True


@always
def no_lost_data(m, s):
    """The latest write to every mapped address lives in its one authoritative frame.

    Catches data lost across partial or failed migration, eviction, COW and munmap of other
    addresses: a copy that missed a page, a write through a stale mapping, a frame freed
    while still the only holder of the data.
    """
    # one expression per page (``|``, not ``if``): a term for Z3, not a path per fork state,
    # VMA, PTE kind and frame.  Only a failing page forks, on its kind, to pick the message
    c = m.config
    lost = "mm{mm} page {p}: the latest write is version {v} but "
    for mm in range(c.mms):
        for p in range(c.pages):
            a = mm * c.pages + p
            skip = s.vma[p] == NO
            if mm:          # no child process before fork
                skip = skip | (s.forked == False)
            kind, f = s.pte[a]
            v = s.latest[a]
            none = kind == Cpte.NONE
            if not (skip | (none & (v == 0)) | ((none == False) & (s.fver[f] == v))):
                if none:
                    return clause(False, lost + "nothing", mm=mm, p=p, v=v)
                return clause(False, lost + "frame {f} holds version {fv}", mm=mm, p=p, v=v,
                              f=f, fv=s.fver[f])
    return True


@always
def cow_isolation(m, s):
    """After fork, a write by one process (CPU or any of its GPUs) is never visible to the other.

    Checked as: no frame that both processes still map holds a version written after the
    fork.  Catches a GPU write through a mapping made writable from a read-only,
    COW-shared device-private page (protocol.md §2.13, issue 9).
    """
    if not s.forked:
        return True
    c = m.config
    for p in range(c.pages):
        (k0, f0), (k1, f1) = s.pte[p], s.pte[c.pages + p]
        if k0 == Cpte.NONE or k1 == Cpte.NONE or f0 != f1:
            continue
        if not clause(s.fver[f0] <= s.fork_clock[p],
                      "page {p}: frame {f} is shared by parent and child after fork but holds "
                      "version {v}, written after the fork (fork-time version {fv})",
                      p=p, f=f0, v=s.fver[f0], fv=s.fork_clock[p]):
            return False
    return True


__all__ = ["coherence", "no_lost_data", "cow_isolation", "FREE"]
