"""The cost model behind ``modelled_time_ns``: a documented estimate, never a measurement.

Sources (../shared/reference/workloads.md §(c) "Latency/time model", §(d) rows 3 and 10):

* **Far-fault latency 45 µs** per GPU fault batch: GPGPU-Sim UVM-Smart's
  ``page_fault_latency`` = 66,645 core cycles at 1481 MHz (its GTX 1080 Ti config).  A batch
  is one round trip (fault buffer drained, serviced, replayed), so faults that overlap pay
  once (NV-FB, SC21 §2.2).  A CPU fault on a device page pays the same (assumed: no source
  gives do_swap_page -> migrate_to_ram separately).
* **Link transfer curve**: UVM-Smart's ``gmmu.cc`` models a PCIe 3.0 x16 transfer of ``size``
  at ``speed(size) = (2a/π)·atan(b·size_KiB)``, halved for transfers of 2 MiB or more; its
  logs fit a = 11.9 GiB/s, b = 0.074 per KiB (4 KiB -> 1.76 µs, 60 KiB -> 5.56 µs).  Small
  transfers are latency-bound, which is why granularity matters before faults are counted.
  An atomic-capable GPU-GPU link (XGMI / NVLink-like) is assumed 3x faster, same shape.
* **Remote access**: a GPU access through a mapping of system memory or of a peer's VRAM
  moves one page over the link at the curve's asymptote a (no fault, no migration).
* **Local access**: one page at 900 GB/s (HBM2-class; an assumption, it only makes hits
  cost something).
* **Kernel launch 150 µs** per ``kernel`` begin event (UVM-Smart's launch overhead).
"""
from __future__ import annotations

import math

GiB = 1 << 30
FAULT_BATCH_NS = 45_000
CPU_FAULT_NS = 45_000
LAUNCH_NS = 150_000
CURVE_A = 11.9 * GiB          # bytes/s
CURVE_B = 0.074               # per KiB
LOCAL_BW = 900e9              # bytes/s
ATOMIC_LINK_FACTOR = 3.0


def link_speed(nbytes: int, fast: bool = False) -> float:
    """Bytes/s of one transfer of ``nbytes`` over PCIe (or an atomic-capable link)."""
    speed = (2 * CURVE_A / math.pi) * math.atan(CURVE_B * nbytes / 1024)
    if nbytes >= 2 << 20:
        speed /= 2
    return speed * (ATOMIC_LINK_FACTOR if fast else 1.0)


def transfer_ns(nbytes: int, fast: bool = False) -> float:
    return 1e9 * nbytes / link_speed(nbytes, fast) if nbytes else 0.0


def remote_access_ns(page_size: int, fast: bool = False) -> float:
    return 1e9 * page_size / (CURVE_A * (ATOMIC_LINK_FACTOR if fast else 1.0))


def local_access_ns(page_size: int) -> float:
    return 1e9 * page_size / LOCAL_BW


def table() -> dict:
    """The constants, for ``--json`` output and docs."""
    return {"fault_batch_ns": FAULT_BATCH_NS, "cpu_fault_ns": CPU_FAULT_NS,
            "launch_ns": LAUNCH_NS, "pcie_curve_a_bytes_per_s": CURVE_A,
            "pcie_curve_b_per_kib": CURVE_B, "local_bw_bytes_per_s": LOCAL_BW,
            "atomic_link_factor": ATOMIC_LINK_FACTOR}
