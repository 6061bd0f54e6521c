"""Seed 002: page tables updated from the GPU page-fault handler must not depend on user fences.

The amdgpu retry-fault path (2019 amd-gfx thread between Christian König and Felix Kuehling;
distilled in dma-buf.rst "Recoverable Hardware Page Faults Implications", protocol.md §3):
a user compute job touches a page whose PTE is missing, raises a *retry fault* and its waves
stall.  The interrupt handler's fault worker runs ``amdgpu_vm_handle_fault`` (for a KFD VM:
``svm_range_restore_pages`` -> ``svm_range_validate_and_map``), which allocates the page
table (``amdgpu_vm_pt_create``), writes the clear + PTE update into the SDMA ring, waits for
that **kernel** fence, flushes the TLB, and the stalled job replays its access and finishes.

Actors: ``cs{j}`` user compute jobs (GFX/compute ring, retry faults on, their CS fence is a
user fence); ``gpu0/fault`` the fault handler; ``sdma0/sched`` the GPU scheduler's worker for
the same SDMA ring (a scheduled job, e.g. a TTM move or a delayed PT update); ``sdma0`` the
SDMA engine executing the ring; ``mm`` a multimedia job (no retry faults) that depends on
cs0's fence and owns a VRAM BO; ``pressure`` another client pinning BOs into free VRAM.

Models (``name``):

* ``pt-fence`` (sound): allocation never waits for the GPU (``bp.no_wait_gpu = immediate``):
  it takes free VRAM, evicts an *idle* BO, or falls back to an emergency pool of page-table
  BOs (the seed's proposal); page tables carry no user fences and the handler waits only on
  the PT-update fence of the SDMA ring, whose packets never depend on a pending fault.  The
  two ring writers (direct submission from the handler, the scheduler's worker) serialise
  on a ring lock.
* ``pt-fence-user-wait`` (broken): allocation may wait for the GPU, so under memory pressure
  it evicts a busy BO and waits on its reservation: a user CS fence (the stalled job's own,
  or the MM job's, which depends on the stalled job).  Deadlock, reported as a wait cycle.
* ``ring-direct-unlocked`` (broken): no ring lock; the non-atomic ring write (read wptr,
  write packet, bump wptr) of the two writers loses a packet (``no_lost_ring_write``).

Abstractions: one GPU, one VM, one page (and one page-table BO) per job; a VRAM "slot" holds
one BO of any kind; a BO's reservation carries exactly its owner job's fence; the IH ring
is a set of pending faults (each job faults once; no duplicate faults to filter); the ring
never wraps (it has a slot per packet the run can write); a packet is one slot (not a run
of dwords) that the SDMA executes atomically; the TLB flush is folded into the fault's
resolution.
"""
from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from svmcheck import (Config, Flow, Model, always, clause, completes, outcome, param,
                      sometimes, sometimes_step, step)
from svmcheck.errors import ConfigError

FAULT = "gpu0/fault"     # the fault handler's actor name
SCHED = "sdma0/sched"    # the GPU scheduler's worker for the SDMA ring
SDMA = "sdma0"           # the SDMA engine itself
NONE = -1                # no eviction victim


class PtFenceConfig(Config):
    jobs: int = param(2, "user compute jobs (retry faults on), each touching its own unmapped "
                         "page", min=1, max=3)
    mm_job: bool = param(True, "a multimedia job (no retry faults) that depends on cs0's fence "
                               "and owns a VRAM BO")
    vram_free: int = param(1, "free VRAM slots at start (a slot holds one BO)", min=0, max=3)
    pressure: int = param(1, "BOs another client may pin into free VRAM (memory pressure)",
                          min=0, max=3)
    emergency_pool: int = param(2, "page-table BOs reserved for the fault handler (the seed's "
                                   "emergency pool); must cover one per job", min=0, max=4)
    sched_jobs: int = param(1, "jobs the scheduler's worker writes into the same SDMA ring",
                            min=0, max=2)

    def validate(self):
        if self.emergency_pool < self.jobs:
            raise ConfigError(
                f"parameter 'emergency_pool' is {self.emergency_pool} but jobs is {self.jobs}: "
                f"the pool must hold one page table per fault that can be pending at once, "
                f"else a full VRAM of busy BOs leaves the handler nothing to take; set "
                f"emergency_pool={self.jobs}")


class Job(IntEnum):
    """A user CS job on the GFX/compute ring (retry faults enabled)."""
    QUEUED = 0      # submitted; its CS fence is unsignaled
    STALLED = 1     # raised a retry fault; its waves stall until the PTE is valid
    SIGNALED = 2    # finished; its CS fence signaled


class Pt(IntEnum):
    """The page table (one PT BO, one PTE) covering a job's page."""
    MISSING = 0     # no page table: an access raises a retry fault
    ALLOCATED = 1   # PT BO allocated, not yet written
    SUBMITTED = 2   # clear + PTE packet committed to the SDMA ring; its kernel fence pending
    WRITTEN = 3     # the SDMA executed the packet: the PT-update fence signaled
    VALID = 4       # TLB flushed and the fault resolved: the job's replayed access succeeds


class Src(IntEnum):
    """Where a page-table BO came from."""
    NONE = 0
    VRAM = 1        # free VRAM, or a slot freed by evicting a BO
    POOL = 2        # the emergency pool


class Writer(IntEnum):
    """Who holds the SDMA ring lock."""
    NONE = 0
    DIRECT = 1      # the fault handler (amdgpu_job_submit_direct)
    SCHED = 2       # the scheduler's worker (amdgpu_job_run)


class World(NamedTuple):
    cs: tuple           # cs[j]: Job
    fault: tuple        # fault[j]: a retry fault for job j's page waits in the IH ring
    pt: tuple           # pt[j]: Pt
    pt_src: tuple       # pt_src[j]: Src
    mm_signaled: bool   # the MM job's fence (True from the start when there is no MM job)
    resident: tuple     # resident[b]: BO b is in VRAM (b < jobs: cs b's BO; b == jobs: MM's)
    pinned: int         # BOs the other client pinned into VRAM
    free: int           # free VRAM slots
    pool: int           # emergency-pool page tables left
    victim: int         # BO the fault handler is evicting, NONE if none
    ring: tuple         # ring[slot]: packet id + 1, 0 = never written
    wptr: int           # the ring's committed write pointer (what the SDMA may fetch up to)
    rptr: int           # the SDMA's read pointer
    ring_owner: Writer  # holder of the ring lock
    committed: tuple    # committed[p]: packet p's writer bumped wptr past it
    executed: tuple     # executed[p]: the SDMA executed packet p
    sched_next: int     # scheduled jobs the worker has started


def _put(t: tuple, i: int, v) -> tuple:
    return t[:i] + (v,) + t[i + 1:]


# ---- guards (named, with docstrings, so deadlock reports read well) ----------------------

def job_queued(m, s, me):
    """the job is submitted and has not run yet"""
    return s.cs[me.job] == Job.QUEUED


def fault_resolved(m, s, me):
    """the retry fault is resolved: the PTE is valid and the TLB flushed"""
    return s.pt[me.job] == Pt.VALID


def retry_fault_pending(m, s, me, job):
    """a retry fault waits in the IH ring"""
    return s.fault[job]


def room_for_page_table(m, s, me):
    """VRAM has room for a page table: a free slot, an evictable BO or the emergency pool"""
    return (s.free > 0 or any(m.evictable(s, b) for b in range(m.nbos))
            or (m.no_wait_gpu and s.pool > 0))


def eviction_candidate(m, s, me, victim):
    """the victim BO is resident and evictable (idle, when allocating with no_wait_gpu)"""
    return m.evictable(s, victim)


def victim_idle(m, s, me):
    """the eviction victim's reservation fences have signaled"""
    return m.bo_idle(s, s.victim)


def ring_lock_free(m, s, me):
    """the SDMA ring lock is free"""
    return s.ring_owner == Writer.NONE


def pt_fence_signaled(m, s, me):
    """the PT-update fence (a kernel fence on the SDMA ring) has signaled"""
    return s.pt[me.job] >= Pt.WRITTEN


def sched_job_ready(m, s, me):
    """the scheduler has a job for the SDMA ring whose dependencies have signaled"""
    return s.sched_next < m.config.sched_jobs


def ring_has_work(m, s):
    """the SDMA's read pointer is behind the committed write pointer"""
    return s.rptr < s.wptr


def mm_runnable(m, s):
    """the MM job is queued and its dependency, cs0's fence, has signaled"""
    return not s.mm_signaled and s.cs[0] == Job.SIGNALED


def pressure_left(m, s):
    """the other client has a BO to pin and VRAM has a free slot"""
    return s.pinned < m.config.pressure and s.free > 0


class PtFence(Model):
    """amdgpu retry-fault handler: PT allocation and update never wait on user fences (sound)."""
    name = "pt-fence"
    Config = PtFenceConfig

    # amdgpu_vm_pt_create(): bp.no_wait_gpu = immediate (true on the page-fault path)
    no_wait_gpu = True

    # ---- configuration-derived sizes -----------------------------------------------------
    @property
    def nbos(self) -> int:
        """User BOs in VRAM at start: one per job, plus the MM job's."""
        return self.config.jobs + (1 if self.config.mm_job else 0)

    @property
    def npackets(self) -> int:
        """Packets the ring can ever receive: one PT update per job, one per scheduled job."""
        return self.config.jobs + self.config.sched_jobs

    def init(self):
        c = self.config
        n = self.npackets
        return World(cs=(Job.QUEUED,) * c.jobs, fault=(False,) * c.jobs,
                     pt=(Pt.MISSING,) * c.jobs, pt_src=(Src.NONE,) * c.jobs,
                     mm_signaled=not c.mm_job, resident=(True,) * self.nbos, pinned=0,
                     free=c.vram_free, pool=c.emergency_pool, victim=NONE,
                     ring=(0,) * n, wptr=0, rptr=0, ring_owner=Writer.NONE,
                     committed=(False,) * n, executed=(False,) * n, sched_next=0)

    # ---- BOs and their fences ------------------------------------------------------------
    def bo_owner(self, b: int) -> str:
        return f"cs{b}" if b < self.config.jobs else "mm"

    def bo_idle(self, s, b: int) -> bool:
        """Every fence in BO b's reservation has signaled (its owner job finished)."""
        return s.cs[b] == Job.SIGNALED if b < self.config.jobs else s.mm_signaled

    def evictable(self, s, b: int) -> bool:
        """TTM may evict BO b for the page table: resident and, with no_wait_gpu, idle (a busy
        victim's move fence is unsignaled, so ttm_bo_add_move_fence returns -EBUSY)."""
        return s.resident[b] and (self.bo_idle(s, b) or not self.no_wait_gpu)

    # ---- the user compute jobs -----------------------------------------------------------
    cs = Flow("cs{job}", over=dict(job=lambda c: range(c.jobs)))

    @cs.label(start=True, when=job_queued)
    def gfx_access(self, s, me):
        """The job's waves touch their page; the PTE is missing, so the UTCL2 raises a retry
        fault (gmc_v9_0_process_interrupt queues it for amdgpu_vm_handle_fault) and the waves
        stall.  Abstracts: the wave scheduler, the fault's address; one page per job."""
        j = me.job
        return me.next(s._replace(cs=_put(s.cs, j, Job.STALLED),
                                  fault=_put(s.fault, j, True)), "retry fault")

    @cs.label(when=fault_resolved)
    def retry_replay(self, s, me):
        """The stalled access replays and succeeds; the job runs to its end and its CS fence
        signals (amdgpu_fence_process, amdgpu_fence.c).  Abstracts: everything the job does
        after the one faulting access."""
        return me.done(s._replace(cs=_put(s.cs, me.job, Job.SIGNALED)), "CS fence signaled")

    # named explicitly: two unnamed completes() in one class collide (both keyed None)
    cs_completes = completes(cs, name="cs_completes",
                             doc="Every user job that starts finishes (its fault is resolved "
                                 "and its fence signals).")

    # ---- the MM job, and memory pressure -------------------------------------------------
    @step(actor="mm", when=mm_runnable)
    def mm_run_job(self, s):
        """The MM (VCN) job runs once drm_sched has seen its dependency, cs0's fence, signal
        (drm_sched_job_dependency, then amdgpu_job_run); its fence, the one on its BO's
        reservation, signals.  Abstracts: MM engines have no retry faults, so their page
        tables are pre-filled and the job never faults."""
        return outcome(s._replace(mm_signaled=True), "MM fence signaled")

    @step(actor="pressure", when=pressure_left)
    def amdgpu_bo_pin(self, s):
        """Another client creates and pins a BO (amdgpu_bo_create + amdgpu_bo_pin, e.g. a
        scanout buffer), filling a free VRAM slot.  Abstracts: size (one slot); it is never
        unpinned in the run, which is the worst case for the fault handler."""
        return s._replace(free=s.free - 1, pinned=s.pinned + 1)

    def pending(self, s):
        if not s.mm_signaled:
            yield "mm", "waits for cs0's fence (drm_sched dependency)"

    # ---- the fault handler ---------------------------------------------------------------
    fault = Flow(FAULT, locals=dict(job=-1, wptr=0))

    @fault.label(start=True, args=dict(job=lambda c: range(c.jobs)), when=retry_fault_pending)
    def amdgpu_vm_handle_fault(self, s, me, job):
        """amdgpu_vm_handle_fault (amdgpu_vm.c), called from the IH soft ring: takes one
        retry fault; for a KFD VM this is svm_range_restore_pages (kfd_svm.c).  Abstracts:
        the pasid -> VM lookup, amdgpu_gmc_filter_faults, range lookup/creation and the
        migration decision (no migration happens here, as the seed concludes)."""
        return me.next(s._replace(fault=_put(s.fault, job, False)), job=job)

    @fault.label(when=room_for_page_table)
    def amdgpu_vm_pt_create(self, s, me):
        """amdgpu_vm_pt_create (amdgpu_vm_pt.c) via amdgpu_vm_pt_alloc from
        amdgpu_vm_update_range: allocate the page-table BO with bp.no_wait_gpu = immediate.
        Free VRAM is taken at once; a full VRAM goes to TTM eviction (ttm_bo_mem_force_space
        -> ttm_mem_evict_first); with no_wait_gpu a busy victim fails with -EBUSY, so only an
        idle one helps; if none is idle the handler takes a PT from the emergency pool (the
        seed's proposal, not mainline: PTs carry no user fences, so the pool can always be
        refilled).  Abstracts: PD levels (one PT BO per page), the shadow BO, the eviction
        lock, the retry of a failed fault."""
        j = me.job
        if s.free > 0:
            s = s._replace(free=s.free - 1, pt=_put(s.pt, j, Pt.ALLOCATED),
                           pt_src=_put(s.pt_src, j, Src.VRAM))
            return me.goto("direct_ring_alloc", s, "free VRAM")
        if any(self.evictable(s, b) for b in range(self.nbos)):
            return me.next(s, "VRAM full: evict")
        s = s._replace(pool=s.pool - 1, pt=_put(s.pt, j, Pt.ALLOCATED),
                       pt_src=_put(s.pt_src, j, Src.POOL))
        return me.goto("direct_ring_alloc", s, "-EBUSY: emergency pool")

    @fault.label(args=dict(victim=lambda c: range(c.jobs + (1 if c.mm_job else 0))),
                 when=eviction_candidate)
    def ttm_mem_evict_first(self, s, me, victim):
        """ttm_mem_evict_first (ttm_bo.c), from ttm_bo_mem_force_space: walk the LRU and pick
        a victim BO (any candidate: the LRU order is not modelled).  With no_wait_gpu only
        idle BOs are candidates."""
        busy = "" if self.bo_idle(s, victim) else \
            f"busy: user fence of {self.bo_owner(victim)}"
        return me.next(s._replace(victim=victim), busy or "idle")

    @fault.label(when=victim_idle)
    def ttm_bo_evict(self, s, me):
        """ttm_bo_evict (ttm_bo.c) moves the victim to GTT (amdgpu_bo_move ->
        amdgpu_move_blit: a copy that depends on the victim's reservation fences) and the PT
        BO placed in the freed VRAM waits for that move fence (ttm_bo_add_move_fence).  So
        the handler waits, through the move, for every fence of the victim: its owner's user
        CS fence.  Abstracts: the copy job (folded into this wait; for an idle victim it is a
        kernel copy that depends on nothing pending)."""
        j, v = me.job, s.victim
        s = s._replace(resident=_put(s.resident, v, False), victim=NONE,
                       pt=_put(s.pt, j, Pt.ALLOCATED), pt_src=_put(s.pt_src, j, Src.VRAM))
        return me.next(s, f"evicted bo{v}")

    @fault.label(when=ring_lock_free)
    def direct_ring_alloc(self, s, me):
        """Direct submission of the PT update (the seed: "write directly to the ring
        buffer"): amdgpu_vm_sdma_commit -> amdgpu_job_submit_direct -> amdgpu_ib_schedule ->
        amdgpu_ring_alloc (amdgpu_ring.c): take the ring lock (amdgpu_ring_lock) and read the
        ring's write pointer.  The update syncs to no reservation (amdgpu_vm_sdma_prepare:
        "Don't wait for any submissions during page fault handling"), so the packet depends
        on nothing.  Abstracts: the IB indirection, ndw accounting, padding."""
        s = self.amdgpu_ring_lock(s, Writer.DIRECT)
        return me.next(s, wptr=s.wptr)

    @fault.label
    def direct_ring_write(self, s, me):
        """amdgpu_ring_write (amdgpu_ring.h), via emit_ib: the PT clear + PTE update packet
        (amdgpu_vm_pt_clear and the PTE write of amdgpu_vm_update_range) goes into the slot
        at the write pointer read before."""
        return me.next(self._ring_write(s, me.wptr, me.job))

    @fault.label
    def direct_ring_commit(self, s, me):
        """amdgpu_ring_commit -> amdgpu_ring_set_wptr (amdgpu_ring.c): publish the packet by
        bumping the write pointer past it, and drop the ring lock."""
        j = me.job
        s = self._ring_commit(s, me.wptr, j)
        return me.next(s._replace(pt=_put(s.pt, j, max(s.pt[j], Pt.SUBMITTED))))

    @fault.label(when=pt_fence_signaled)
    def dma_fence_wait(self, s, me):
        """dma_fence_wait on the PT-update fence (a kernel fence of the SDMA ring; the seed:
        "Allocate page table, wait for fence associated with that page table initialization,
        update PTEs"), then amdgpu_vm_tlb_flush; amdgpu_vm_handle_fault returns true and the
        retry fault is resolved."""
        j = me.job
        return me.done(s._replace(pt=_put(s.pt, j, Pt.VALID)), f"fault of cs{j} resolved")

    fault_completes = completes(fault, name="fault_completes",
                                doc="Every fault the handler takes is resolved.")

    # ---- the scheduler's worker on the same SDMA ring ------------------------------------
    sched = Flow(SCHED, locals=dict(wptr=0, pkt=0))

    @sched.label(start=True, when=(sched_job_ready, ring_lock_free))
    def sched_ring_alloc(self, s, me):
        """drm_sched_run_job_work (drm_sched_main in 2019) -> amdgpu_job_run ->
        amdgpu_ib_schedule -> amdgpu_ring_alloc: the worker pops a job whose dependencies
        have signaled (a TTM move or a delayed PT update), takes the ring lock and reads the
        write pointer.  Abstracts: what the job does (nothing waits for it here)."""
        pkt = self.config.jobs + s.sched_next
        s = self.amdgpu_ring_lock(s._replace(sched_next=s.sched_next + 1), Writer.SCHED)
        return me.next(s, wptr=s.wptr, pkt=pkt)

    @sched.label
    def sched_ring_write(self, s, me):
        """amdgpu_ring_write via emit_ib: the scheduled job's packet goes into the slot at
        the write pointer read before."""
        return me.next(self._ring_write(s, me.wptr, me.pkt))

    @sched.label
    def sched_ring_commit(self, s, me):
        """amdgpu_ring_commit: bump the write pointer past the packet, drop the ring lock."""
        return me.done(self._ring_commit(s, me.wptr, me.pkt))

    # ---- the ring: one lock, a non-atomic write ------------------------------------------
    def amdgpu_ring_lock(self, s, who: Writer):
        """Take the ring lock: the writers' critical section is amdgpu_ring_alloc ..
        amdgpu_ring_commit, as under kiq->ring_lock for the KIQ ring.  This is the model's
        fix; mainline instead moved fault-path updates onto a scheduler entity (vm->direct,
        later vm->immediate), leaving the scheduler's worker the ring's only writer.
        ring-direct-unlocked overrides this to take no lock."""
        return s._replace(ring_owner=who)

    def _ring_write(self, s, slot: int, pkt: int):
        return s._replace(ring=_put(s.ring, slot, pkt + 1))

    def _ring_commit(self, s, slot: int, pkt: int):
        return s._replace(wptr=slot + 1, committed=_put(s.committed, pkt, True),
                          ring_owner=Writer.NONE)

    @step(actor=SDMA, when=ring_has_work)
    def sdma_execute(self, s):
        """The SDMA engine fetches the packet at its read pointer and executes it; a PT
        update's fence then signals (amdgpu_fence_process on the trap interrupt).
        Hardware, not a kernel function; a slot never written executes as a NOP."""
        slot = s.ring[s.rptr]
        s = s._replace(rptr=s.rptr + 1)
        if slot == 0:
            return outcome(s, "NOP")
        p = slot - 1
        s = s._replace(executed=_put(s.executed, p, True))
        if p < self.config.jobs:
            s = s._replace(pt=_put(s.pt, p, max(s.pt[p], Pt.WRITTEN)))
            return outcome(s, f"PT update of cs{p}: fence signaled")
        return outcome(s, f"scheduled job {p - self.config.jobs}")

    # ---- the wait-for graph --------------------------------------------------------------
    def waits_for(self, s):
        """gpu fault: a stalled job waits for the handler; user fence: the handler waits for
        the owner of the BO it evicts; PT-update fence: the handler waits for the SDMA;
        dependency: the MM job waits for cs0."""
        # the handler's edges first: a reported cycle then starts at the fault handler
        if s.victim != NONE and not self.bo_idle(s, s.victim):
            yield FAULT, f"user fence (bo{s.victim} resv)", self.bo_owner(s.victim)
        for j, st in enumerate(s.pt):
            if st == Pt.SUBMITTED:
                yield FAULT, f"PT-update fence (cs{j})", SDMA
        for j, st in enumerate(s.cs):
            if st == Job.STALLED and s.pt[j] != Pt.VALID:
                yield f"cs{j}", "gpu fault", FAULT
        if not s.mm_signaled and s.cs[0] != Job.SIGNALED:
            yield "mm", "cs0 fence (dependency)", "cs0"

    def describe(self, s):
        cs = ",".join(st.name for st in s.cs)
        pt = ",".join(st.name for st in s.pt)
        return (f"cs=({cs}) pt=({pt}) free={s.free} pool={s.pool} pinned={s.pinned} "
                f"ring={s.ring} wptr={s.wptr} rptr={s.rptr}")

    # ---- properties ----------------------------------------------------------------------
    @always
    def fault_handler_never_waits_on_user_fence(self, s):
        """The fault handler never blocks on a user CS fence.

        dma-buf.rst: a fence must not depend on a fault, so the handler must not wait on one
        of a job that may be stalled on it.  Catches: a PT allocation that evicts a BO whose
        reservation carries a CS fence."""
        v = s.victim
        return clause(v == NONE or self.bo_idle(s, v),
                      "the fault handler waits on {owner}'s user fence to evict bo{v}",
                      owner=self.bo_owner(v) if v != NONE else "", v=v)

    @always
    def no_lost_ring_write(self, s):
        """Every packet committed to the SDMA ring is executed or still queued.

        Queued: between rptr and wptr.  Catches: two unlocked writers reading the same wptr
        (the seed: "There is no locking of the ring buffer")."""
        window = s.ring[s.rptr:s.wptr]
        for p in range(self.npackets):
            if s.committed[p] and not s.executed[p] and (p + 1) not in window:
                what = f"cs{p}'s PT update" if p < self.config.jobs else \
                    f"scheduled job {p - self.config.jobs}"
                return clause(False, "packet {p} ({what}) was committed but is no longer in "
                                     "the ring: another writer overwrote its slot", p=p,
                              what=what)
        return True

    @always
    def job_resumes_only_after_pt_fence(self, s):
        """A fault is resolved only after its PT-update packet executed.

        Catches: resolving the fault (and replaying the access) before dma_fence_wait."""
        for j, st in enumerate(s.pt):
            if st == Pt.VALID and not s.executed[j]:
                return clause(False, "cs{j}'s PTE is valid but its PT update never ran", j=j)
        return True

    @always
    def vram_accounted(self, s):
        """VRAM and the emergency pool are never over-committed.

        Every slot holds exactly one of: free space, a user BO, a pinned BO, a page table.
        Catches: double allocation, or an eviction that frees nothing."""
        c = self.config
        vram = s.free + sum(s.resident) + s.pinned + s.pt_src.count(Src.VRAM)
        pool = s.pool + s.pt_src.count(Src.POOL)
        return clause(vram == c.vram_free + self.nbos and pool == c.emergency_pool
                      and s.free >= 0 and s.pool >= 0,
                      "VRAM holds {vram} of {total} slots, the pool {pool} of {size}",
                      vram=vram, total=c.vram_free + self.nbos, pool=pool,
                      size=c.emergency_pool)

    # ---- auxiliary invariants -------------------------------------------------------------
    # The three properties above are what the seed asks; these strengthen them so that
    # `svmcheck prove` can show each is inductive (every step from a state satisfying all of
    # them yields one that does).  The explorer checks them like any property.  Their
    # clauses combine comparisons with `&`, `|` and `<=` (on bools: "implies") rather than
    # `and`/`or`/`if`: on the symbolic state those build one formula per clause instead of
    # one path per case (docs/z3.md).

    @always
    def handler_position_fixes_pt_stage(self, s, procs):
        """Auxiliary: where the fault handler is fixes the PT stage of the job it serves.

        amdgpu_vm_handle_fault serves one fault at a time, start to end: the page table of
        the job it serves is MISSING until allocated (amdgpu_vm_pt_create, or the TTM
        eviction path, which is the only time a victim is chosen), ALLOCATED until
        amdgpu_ring_commit publishes its packet, then SUBMITTED or WRITTEN while it waits on
        the fence.  Every other job's PT is MISSING (its fault, if raised, is pending in the
        IH ring) or VALID (resolved); a PT has a source exactly when it exists; a job's fence
        signals only after its fault is resolved (amdgpu_job / drm_sched: the waves stall
        until the replay succeeds)."""
        label, loc = procs[FAULT]
        mine = NONE if label == "idle" else loc["job"]
        stage = {"amdgpu_vm_pt_create": (Pt.MISSING, Pt.MISSING),
                 "ttm_mem_evict_first": (Pt.MISSING, Pt.MISSING),
                 "ttm_bo_evict": (Pt.MISSING, Pt.MISSING),
                 "direct_ring_alloc": (Pt.ALLOCATED, Pt.ALLOCATED),
                 "direct_ring_write": (Pt.ALLOCATED, Pt.ALLOCATED),
                 "direct_ring_commit": (Pt.ALLOCATED, Pt.ALLOCATED),
                 "dma_fence_wait": (Pt.SUBMITTED, Pt.WRITTEN)}.get(label)
        evicting = label == "ttm_bo_evict"
        if label != "idle" and stage is None:
            return clause(False, "the handler is at {label}", label=label)
        if not clause((s.victim != NONE) == evicting, "the eviction victim is set outside "
                      "ttm_bo_evict (or unset in it)"):
            return False
        if evicting and not clause(s.resident[s.victim], "the victim is not resident"):
            return False
        for k in range(self.config.jobs):
            pt, cs, fault = s.pt[k], s.cs[k], s.fault[k]
            ok = (s.pt_src[k] == Src.NONE) == (pt == Pt.MISSING)
            if k == mine:
                lo, hi = stage
                # `fault == False`, not `not fault`: a comparison joins the formula
                ok = ok & (pt >= lo) & (pt <= hi) & (cs == Job.STALLED) & (fault == False)
            else:
                ok = ok & ((pt == Pt.MISSING) | (pt == Pt.VALID)) \
                    & (fault == ((cs == Job.STALLED) & (pt == Pt.MISSING))) \
                    & ((cs == Job.QUEUED) <= (pt == Pt.MISSING)) \
                    & ((cs == Job.SIGNALED) <= (pt == Pt.VALID))
            if not clause(ok, "cs{k} is {cs.name} with its PT {pt.name} (handler at {label})",
                          k=k, cs=cs, pt=pt, label=label):
                return False
        return True

    @always
    def sdma_ring_consistent(self, s, procs):
        """Auxiliary: the SDMA ring holds each packet once, committed below wptr, executed
        below rptr, and the lock holder's snapshot of wptr is current.

        amdgpu_ring_alloc .. amdgpu_ring_commit (amdgpu_ring.c) run under the ring lock, so
        the holder's wptr (read at alloc) is the ring's, its packet goes into the slot at
        wptr and only commit moves wptr past it; the SDMA fetches slots below wptr in order
        (rptr), so every slot below rptr was executed and every slot below wptr was
        committed; each writer writes its packet once (one PT update per fault,
        amdgpu_vm_sdma_commit; one per scheduled job, amdgpu_job_run)."""
        n, jobs = self.npackets, self.config.jobs
        flabel, floc = procs[FAULT]
        dlabel, dloc = procs[SCHED]
        direct = flabel in ("direct_ring_write", "direct_ring_commit")
        sched = dlabel in ("sched_ring_write", "sched_ring_commit")
        if not clause((s.ring_owner == Writer.DIRECT) == direct
                      and (s.ring_owner == Writer.SCHED) == sched,
                      "the ring lock is held by {owner.name}, not by the writer mid-write",
                      owner=s.ring_owner):
            return False
        if direct:
            wrote, pkt, wptr = flabel == "direct_ring_commit", floc["job"], floc["wptr"]
        elif sched:
            wrote, pkt, wptr = dlabel == "sched_ring_commit", dloc["pkt"], dloc["wptr"]
            if not clause((pkt == jobs + s.sched_next - 1) & (s.sched_next > 0),
                          "the scheduler writes a job it did not start"):
                return False
        else:
            wrote, pkt, wptr = False, NONE, s.wptr
        ok = (wptr == s.wptr) & (s.rptr <= s.wptr) & (s.wptr == sum(s.committed)) \
            & (s.rptr == sum(s.executed))
        for i in range(n):
            slot = s.ring[i]
            ok = ok & ((i < s.wptr) <= (slot != 0)) & ((i > s.wptr) <= (slot == 0)) \
                & ((i == s.wptr) <= (slot == (pkt + 1 if wrote else 0)))
            for p in range(n):
                ok = ok & ((slot == p + 1) <= ((s.committed[p] == (i < s.wptr))
                                               & (s.executed[p] == (i < s.rptr))))
            for i2 in range(i + 1, n):
                ok = ok & ((slot == 0) | (slot != s.ring[i2]))
        for p in range(jobs, n):
            ok = ok & (s.committed[p] == (p - jobs < s.sched_next - sched))
        if pkt != NONE:
            ok = ok & (s.committed[pkt] == False)
        return clause(ok, "the ring {ring} (wptr {wptr}, rptr {rptr}) does not match the "
                          "packets committed and executed", ring=s.ring, wptr=s.wptr,
                      rptr=s.rptr)

    @always
    def pt_stage_matches_packet(self, s):
        """Auxiliary: a PT is SUBMITTED exactly when its packet is committed, and WRITTEN
        exactly when the SDMA executed it.

        amdgpu_vm_sdma_commit sets up the PT-update fence when amdgpu_ring_commit publishes
        the packet, and that fence signals (amdgpu_fence_process) when the SDMA executes it;
        dma_fence_wait returns only after."""
        return all((s.committed[k] == (s.pt[k] >= Pt.SUBMITTED))
                   & (s.executed[k] == (s.pt[k] >= Pt.WRITTEN))
                   for k in range(self.config.jobs))

    pt_alloc_uses_emergency_pool = sometimes_step(
        "pt_alloc_uses_emergency_pool", step="amdgpu_vm_pt_create", outcome="emergency pool",
        doc="Under memory pressure with only busy BOs in VRAM, a PT comes from the pool.")
    pt_alloc_takes_free_vram = sometimes_step(
        "pt_alloc_takes_free_vram", step="amdgpu_vm_pt_create", outcome="free VRAM",
        doc="Without pressure a PT is allocated from free VRAM.")
    pt_alloc_evicts_idle_bo = sometimes_step(
        "pt_alloc_evicts_idle_bo", step="ttm_mem_evict_first", outcome="idle",
        doc="With VRAM full, the allocation evicts an idle BO without waiting.")

    @sometimes
    def every_job_finishes(self, s):
        """Non-vacuity: every fault is resolved and every job (and the MM job) finishes."""
        return all(st == Job.SIGNALED for st in s.cs) and s.mm_signaled

    @sometimes
    def ring_writers_contend(self, s, procs):
        """Non-vacuity: a ring writer reaches amdgpu_ring_alloc while the other is mid-write.

        Mid-write: between its alloc and its commit, so the ring lock matters."""
        f, d = procs[FAULT][0], procs[SCHED][0]
        return ((f == "direct_ring_alloc" and d in ("sched_ring_write", "sched_ring_commit"))
                or (d == "sched_ring_alloc"
                    and f in ("direct_ring_write", "direct_ring_commit")))


class PtFenceUserWait(PtFence):
    """Broken: PT allocation may wait for the GPU, so it waits on a user fence: deadlock."""
    name = "pt-fence-user-wait"
    # amdgpu_vm_pt_create() with bp.no_wait_gpu = false: TTM may evict a busy BO and wait on
    # its reservation, which carries a user CS fence (the stalled job's own: PTs sharing the
    # root PD's reservation; or the MM job's, which depends on the stalled job).
    no_wait_gpu = False
    # without no_wait_gpu the allocation never fails with -EBUSY, so the pool is never used
    skip_properties = ("pt_alloc_uses_emergency_pool",)


class RingDirectUnlocked(PtFence):
    """Broken: direct and scheduled submission write one SDMA ring without a lock."""
    name = "ring-direct-unlocked"

    def amdgpu_ring_lock(self, s, who):
        """No ring lock (the 2019 direct-submission path): amdgpu_ring_alloc reads wptr with
        nothing excluding the scheduler's worker."""
        return s
