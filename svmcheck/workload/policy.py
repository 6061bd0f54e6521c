"""Policies: the knobs a workload run turns (workloads.md §(c), docs/workloads.md "Policies").

A policy is a dict of ``key=value``; :func:`parse` validates it (one-line errors naming the key
and the choices).  Some keys become configuration of the protocol model (granularity, fault
handling, atomics placement, pinned pages), so the model's own fault flow makes the decision;
the others steer what the runner asks the model to do (prefetch, eviction victims, thrashing
detection, batching).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import SvmCheckError

KiB = 1024


@dataclass(frozen=True)
class Policy:
    granularity: str = "fit"       # 4k | 64k | 2m | fit (Xe: largest of 2M, 64K, 4K that fits)
    fault: str = "migrate"         # migrate (migrate-on-fault) | remote (map system pages)
    prefetch: str = "none"         # none | window | tree (NVIDIA density prefetcher)
    prefetch_window: int = 16      # pages prefetched after a fault (prefetch=window)
    tree_threshold: int = 51       # % occupancy of a subtree to prefetch it (uvm_perf_prefetch)
    eviction: str = "lru"          # lru | fifo | random: which VRAM allocation TTM evicts
    atomics: str = "device"        # device (atomics need VRAM) | system (honoured in RAM)
    thrashing: str = "none"        # none | pin (pin to RAM and map remotely, uvm_perf_thrashing)
    thrash_threshold: int = 3      # close migrations of a page before it is thrashing
    thrash_lapse_us: int = 500     # "close": within this much modelled time
    batch: int = 256               # GPU fault batch cap (uvm_perf_fault_batch_count)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def chunk_pages(self, page_size: int) -> tuple[int, ...]:
        """Migration chunk sizes in pages, largest first (the last is always one page)."""
        sizes = {"4k": (4 * KiB,), "64k": (64 * KiB,), "2m": (2048 * KiB,),
                 "fit": (2048 * KiB, 64 * KiB)}[self.granularity]
        return tuple(sorted({max(1, s // page_size) for s in sizes} | {1}, reverse=True))


CHOICES = {
    "granularity": ("4k", "64k", "2m", "fit"),
    "fault": ("migrate", "remote"),
    "prefetch": ("none", "window", "tree"),
    "eviction": ("lru", "fifo", "random"),
    "atomics": ("device", "system"),
    "thrashing": ("none", "pin"),
}
BOUNDS = {"prefetch_window": (1, 1 << 20), "tree_threshold": (1, 100),
          "thrash_threshold": (1, 7), "thrash_lapse_us": (1, 10 ** 9), "batch": (1, 1 << 16)}


def parse(*sources) -> Policy:
    """A Policy from dicts and/or ``"k=v,k2=v2"`` strings, later ones overriding earlier."""
    values: dict = {}
    for src in sources:
        if src is None:
            continue
        if isinstance(src, Policy):
            src = src.as_dict()
        if isinstance(src, str):
            src = _pairs(src)
        for k, v in dict(src).items():
            values[k.strip()] = v
    known = {f.name for f in fields(Policy)}
    out = {}
    for k, v in values.items():
        if k not in known:
            raise SvmCheckError(f"unknown policy '{k}'; available: {', '.join(sorted(known))}")
        if k in CHOICES:
            v = str(v).strip().lower()
            if v not in CHOICES[k]:
                raise SvmCheckError(f"policy {k} cannot be '{v}'; choose one of: "
                                    f"{', '.join(CHOICES[k])}")
        else:
            lo, hi = BOUNDS[k]
            try:
                v = int(str(v).strip(), 0)
            except ValueError:
                raise SvmCheckError(f"policy {k} takes a whole number, not '{v}'; e.g. "
                                    f"{k}={getattr(Policy, k)}") from None
            if not lo <= v <= hi:
                raise SvmCheckError(f"policy {k} is {v}, outside {lo}..{hi}; pick a value in "
                                    f"that range")
        out[k] = v
    return Policy(**out)


def _pairs(text: str) -> dict:
    out = {}
    for tok in text.split(","):
        if not tok.strip():
            continue
        if "=" not in tok:
            raise SvmCheckError(f"policy '{tok.strip()}' is not k=v; e.g. --policy "
                                f"granularity=64k")
        k, v = tok.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def label(p: Policy) -> str:
    """A short name for plots and tables: the keys that differ from the defaults."""
    base = Policy()
    diff = [f"{k}={v}" for k, v in p.as_dict().items() if getattr(base, k) != v]
    return ",".join(diff) or "default"
