"""The concrete page-level SVM world, one kernel subsystem per module.

``state``     the immutable world every primitive acts on (CPU mm, frames, GPU ranges, PTEs)
``topology``  links between devices and which paths support atomics
``notifier``  MMU interval notifiers: invalidation, sequence staleness, GPU PTE zaps
``mm``        core-mm CPU side: page faults, COW, munmap, fork
``migrate``   migrate_vma_setup / pages / finalize, migrate_to_ram, evict_to_ram
``hmm``       hmm_range_fault, faulting and non-faulting
``pagemap``   drm_pagemap: VRAM allocations (zdd refcounts), populate_mm
``gpusvm``    drm_gpusvm: ranges, get_pages, bind, garbage collection
``base``      SvmModel: the CPU, eviction and GPU-access actors every protocol model shares
"""
