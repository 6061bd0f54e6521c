"""Sub-commands beyond list/check/replay/show/graph, one module per concern.

Each module exposes ``add_parsers(sub)`` (argparse sub-parsers) and ``COMMANDS`` (name ->
handler returning an exit code); :mod:`svmcheck.cli` wires them in.  Shared argument helpers
(``--set``, positive numbers, overrides) are imported from :mod:`svmcheck.cli`.
"""
