"""Workloads: run the executable model on access patterns and compare policies (issue 6).

``format``      the svmtrace v1 JSON Lines format: load, validate, dump
``generators``  synthetic access patterns (stream, stencil, zipf, ...)
``runner``      runs a workload on a protocol model with the model's own steps
``blocks``      the block worlds a run is made of, and what firing actions does to metrics
``policy``      the knobs: granularity, fault handling, prefetch, eviction, atomics, thrashing
``metrics``     counters and the thrashing detector
``cost``        the documented cost model behind modelled_time_ns
"""
