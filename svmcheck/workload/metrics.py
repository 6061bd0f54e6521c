"""Run metrics (workloads.md §(b)): counters the runner fills while the model's steps fire.

Counts are of *pages* unless the name says otherwise; ``bytes_*`` are pages x page size.
``modelled_time_ns`` is the sum of the ``time_*_ns`` parts, from :mod:`.cost`.
"""
from __future__ import annotations

from . import cost

COUNTERS = (
    "accesses", "gpu_accesses", "cpu_accesses", "remote_accesses",
    "gpu_faults", "cpu_faults", "fault_batches", "batch_size_max", "prefetch_faults",
    "prefetches", "prefetched_pages",
    "migrations_h2d", "migrations_d2h", "migrations_d2d", "populated_vram",
    "bytes_h2d", "bytes_d2h", "bytes_d2d",
    "evictions", "evicted_pages", "ebusy", "efault", "retries", "invalidations",
    "thrashing_pages", "pinned_pages", "resident_peak", "kernel_launches", "steps",
)
TIMES = ("time_fault_ns", "time_transfer_ns", "time_access_ns", "time_other_ns")


class Metrics:
    """Counters plus the thrashing detector (uvm_perf_thrashing.c's rule, per page)."""

    def __init__(self, page_size: int, gpu_names, *, lapse_ns: float, threshold: int):
        self.page_size = page_size
        self.c = dict.fromkeys(COUNTERS, 0)
        self.t = dict.fromkeys(TIMES, 0.0)
        self.links: dict[str, int] = {}
        self.sizes: dict[int, int] = {}       # bytes of one transfer -> how many
        self.names = list(gpu_names)
        self.lapse_ns = lapse_ns
        self.threshold = threshold
        self._last: dict[int, tuple] = {}     # page -> (time of last migration, close count)
        self.thrashing: set[int] = set()

    @property
    def now(self) -> float:
        return sum(self.t.values())

    def node(self, owner: int) -> str:
        return "host" if owner < 0 else self.names[owner]

    def transfer(self, src: int, dst: int, pages: int, fast: bool, prefetch: bool) -> None:
        """``pages`` moved from ``src`` to ``dst`` (-1 = system RAM) in one migration."""
        nbytes = pages * self.page_size
        kind = "h2d" if src < 0 else "d2h" if dst < 0 else "d2d"
        self.c[f"migrations_{kind}"] += pages
        self.c[f"bytes_{kind}"] += nbytes
        key = f"{self.node(src)}->{self.node(dst)}"
        self.links[key] = self.links.get(key, 0) + nbytes
        self.sizes[nbytes] = self.sizes.get(nbytes, 0) + 1
        if prefetch:
            self.c["prefetched_pages"] += pages
        self.t["time_transfer_ns"] += cost.transfer_ns(nbytes, fast)

    def migrated(self, page: int) -> bool:
        """Record a migration of ``page``; True when it has just become thrashing (the
        ``threshold``-th migration each within ``lapse`` of the previous one)."""
        now = self.now
        last = self._last.get(page)
        close = last is not None and now - last[0] <= self.lapse_ns
        count = last[1] + 1 if close else 1
        self._last[page] = (now, count)
        if count >= self.threshold and page not in self.thrashing:
            self.thrashing.add(page)
            self.c["thrashing_pages"] += 1
            return True
        return False

    def outcome(self, text: str) -> None:
        if "-EBUSY" in text:
            self.c["ebusy"] += 1
        if "-EFAULT" in text:
            self.c["efault"] += 1
        if "retry" in text or "refault" in text or "-EAGAIN" in text:
            self.c["retries"] += 1

    def as_dict(self) -> dict:
        out = dict(self.c)
        out["bytes_by_link"] = dict(sorted(self.links.items()))
        out["migration_sizes"] = dict(sorted(self.sizes.items()))
        b = self.c["fault_batches"]
        out["batch_size_mean"] = round(self.c["gpu_faults"] / b, 3) if b else 0.0
        for k, v in self.t.items():
            out[k] = round(v)
        out["modelled_time_ns"] = round(self.now)
        moved = self.c["bytes_h2d"] + self.c["bytes_d2h"] + self.c["bytes_d2d"]
        tt = self.t["time_transfer_ns"]
        out["effective_link_gbps"] = round(moved / tt, 3) if tt else 0.0
        return out
