"""Interconnect topology: which device reaches which memory, and whether atomics work there.

protocol.md §1.5, §2.14, §2.15 and seed 004: a device reaches another device's VRAM over no
link, a PCIe peer-to-peer link (no atomics), or an atomic-capable link (XGMI-like); system
memory atomics over PCIe are platform dependent.  Devices joined by a link share a pgmap
owner (drm_pagemap peer support): hmm_range_fault reports each other's device-private pages
in place; across no link the owner differs and hmm_range_fault faults them back to RAM.
"""
from __future__ import annotations

from enum import IntEnum


class Link(IntEnum):
    NONE = 0
    PCIE = 1       # peer-to-peer, no atomics
    ATOMIC = 2     # atomic-capable interconnect


def link(cfg, g: int, h: int) -> Link:
    """The link between devices g and h (a device has an atomic path to itself)."""
    if g == h:
        return Link.ATOMIC
    return Link(cfg.links[min(g, h)][max(g, h)] if cfg.links else cfg.default_link)


def same_owner(cfg, g: int, h: int) -> bool:
    """Whether h's device-private pages are 'ours' to g (dev_private_owner match)."""
    return g == h or link(cfg, g, h) != Link.NONE


def atomic_ok(cfg, g: int, owner: int) -> bool:
    """Whether GPU g's atomics are honoured in memory owned by ``owner`` (-1: system RAM)."""
    if owner < 0:
        return bool(cfg.sys_atomics)
    return link(cfg, g, owner) == Link.ATOMIC


def reached_frames(cfg, g: int, frames: int) -> tuple:
    """The frames GPU g may map: system RAM and the VRAM of every device sharing its pgmap
    owner (one_of(f, ...) as for atomic_frames)."""
    from .mm import owner
    return tuple(f for f in range(frames)
                 if owner(cfg, f) < 0 or same_owner(cfg, g, owner(cfg, f)))


def atomic_frames(cfg, g: int, frames: int) -> tuple:
    """The frames (of ``frames``, system RAM first, then each GPU's VRAM) in which GPU g's
    atomics are honoured: a property asks ``one_of(f, atomic_frames(...))``, one term for
    Z3 instead of fixing f to each frame (``owner`` divides it)."""
    from .mm import owner
    return tuple(f for f in range(frames) if atomic_ok(cfg, g, owner(cfg, f)))
