"""What changed between two states, field by field and index by index.

Traces show only changed fields (``gpu_pte[1][3]: NONE -> VRAM0``) so a reviewer reads a
step in one line; IntEnum values print by name.
"""
from __future__ import annotations


def show(v) -> str:
    """A short rendering of a state value: enum names, tuples without noise."""
    name = getattr(v, "name", None)
    if name is not None and isinstance(v, int) and not isinstance(v, bool):
        return name
    if isinstance(v, tuple) and not hasattr(v, "_fields"):
        return "(" + ",".join(show(x) for x in v) + ")"
    if hasattr(v, "_fields"):
        return type(v).__name__ + "(" + ", ".join(
            f"{f}={show(getattr(v, f))}" for f in v._fields) + ")"
    return repr(v)


def changes(a, b, path: str = "", limit: int = 40) -> list[str]:
    """``path: old -> new`` for every leaf that differs between ``a`` and ``b``."""
    out: list[str] = []
    _walk(a, b, path, out)
    if len(out) > limit:
        out = out[:limit] + [f"... {len(out) - limit} more"]
    return out


def _walk(a, b, path, out):
    if a == b and type(a) is type(b):
        return
    fields = getattr(a, "_fields", None)
    if fields is not None and type(a) is type(b):
        for f in fields:
            _walk(getattr(a, f), getattr(b, f), f"{path}.{f}" if path else f, out)
        return
    if (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
            and not hasattr(a, "_fields") and any(isinstance(x, tuple) for x in a)):
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(x, y, f"{path}[{i}]", out)
        return
    if (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
            and not hasattr(a, "_fields") and len(a) > 4):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                out.append(f"{path}[{i}]: {show(x)} -> {show(y)}")
        return
    out.append(f"{path}: {show(a)} -> {show(b)}")


def proc_changes(model, pa, pb) -> list[str]:
    """Label and local changes of processes between two procs tuples."""
    out = []
    va, vb = model.proc_view(pa), model.proc_view(pb)
    for actor, (la, loca) in va.items():
        lb, locb = vb[actor]
        if la != lb:
            out.append(f"{actor}@{la} -> {lb}")
        for k in loca:
            if loca[k] != locb[k]:
                out.append(f"{actor}.{k}: {show(loca[k])} -> {show(locb[k])}")
    return out
