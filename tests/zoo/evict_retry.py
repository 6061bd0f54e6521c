"""Two GPUs each fault one shared page into their own VRAM, evicting the other's copy: the
evict-and-retry ping-pong, small enough for the liveness BMC's configuration search.

``migrate`` moves the page to the faulting GPU's VRAM, first evicting it from the peer's
(drm_pagemap's evict-and-retry after -EBUSY/-EFAULT); ``bind`` finds it gone if the peer
evicted it meanwhile (-EAGAIN) and retries.  Each retry costs one of ``retry_bound`` rounds,
after which the fault fails cleanly; ``retry_bound = -1`` never gives up.  So ``fault_progress``
(every fault completes, under weak fairness) fails iff the bound is unbounded — the question
``bmc --liveness --free retry_bound`` answers, as the xe model's ``evict_retry_bound`` does at
full size.
"""
from typing import NamedTuple

from svmcheck import Config, Flow, Model, completes, param


class EvictRetryConfig(Config):
    retry_bound: int = param(-1, "retries per fault before it fails; -1: unbounded",
                             min=-1, max=2)


class World(NamedTuple):
    where: int          # 0: system memory, g + 1: GPU g's VRAM


class EvictRetry(Model):
    """Two faults in flight on one page, each migrating it to its own VRAM."""
    name = "evict_retry"
    Config = EvictRetryConfig

    def init(self):
        return World(0)

    fault = Flow("gpu{g}", over=dict(g=lambda c: range(2)), locals=dict(tries=0))

    def _retry(self, s, me, err):
        """Another round, or a clean failure once the bound is spent."""
        bound = self.config.retry_bound
        if bound < 0:
            return me.goto("migrate", s, f"{err}: retry")
        if me.tries < bound:
            return me.goto("migrate", s, f"{err}: retry", tries=me.tries + 1)
        return me.done(s, outcome=f"{err}: fail")

    @fault.label(start=True)
    def migrate(self, s, me):
        """drm_pagemap_populate_mm (drivers/gpu/drm/drm_pagemap.c): a page in a peer's VRAM
        is evicted to system memory first (evict, then retry the migration)."""
        mine = me.g + 1
        if s.where == mine:
            return me.goto("bind", s)
        if s.where != 0:
            return self._retry(World(0), me, "-EFAULT evict")
        return me.goto("bind", World(mine), "migrated")

    @fault.label
    def bind(self, s, me):
        """The bind re-checks the pages under the notifier lock (xe_svm_range_bind ->
        drm_gpusvm_range_pages_valid, drivers/gpu/drm/xe/xe_svm.c): moved away, -EAGAIN."""
        if s.where != me.g + 1:
            return self._retry(s, me, "-EAGAIN")
        return me.done(s, outcome="bound")

    fault_progress = completes(fault, name="fault_progress")
