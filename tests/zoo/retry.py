"""A fault handler that retries a failed migration a bounded number of times.

``migrate`` fails while the page is busy (a CPU holds it); the handler retries up to
``retry_bound`` times and then falls back to mapping system memory remotely.  A remote
mapping of a page the GPU wants atomically is unsafe unless ``sys_atomics``.  So
``atomic_safe`` fails iff some run exhausts the retries: with ``busy_for`` CPU holds, a bound
below ``busy_for`` breaks it — the configuration search's example (``--free retry_bound``).

``value_counted`` (done == value) is inductive on its own; ``atomic_safe`` (when
``retry_bound >= busy_for``) needs the auxiliary ``retries_count_holds``: the proofs' example.
"""
from typing import NamedTuple

from svmcheck import Config, Flow, Model, always, param, step


class RetryConfig(Config):
    retry_bound: int = param(2, "migration retries before mapping remotely", min=0, max=3)
    busy_for: int = param(2, "how many times the CPU takes the page", min=0, max=3)
    sys_atomics: bool = param(False, "atomics over the link work on system memory")


class World(NamedTuple):
    busy: bool          # the CPU holds the page lock
    holds_left: int     # CPU lock acquisitions still to come
    placed: int         # 0 nowhere, 1 VRAM, 2 system memory mapped remotely
    value: int
    done: int


class Retry(Model):
    """Bounded migrate retries, then a remote mapping."""
    name = "retry"
    Config = RetryConfig

    def init(self):
        return World(False, self.config.busy_for, 0, 0, 0)

    @step(actor="cpu", when=lambda m, s: not s.busy and s.holds_left > 0)
    def lock_page(self, s):
        """folio_lock() by a CPU fault (mm/filemap.c)."""
        return s._replace(busy=True, holds_left=s.holds_left - 1)

    @step(actor="cpu", when=lambda m, s: s.busy)
    def unlock_page(self, s):
        """folio_unlock() (mm/filemap.c)."""
        return s._replace(busy=False)

    fault = Flow("gpu", locals=dict(tries=0))

    @fault.label(start=True, when=lambda m, s, me: s.placed == 0)
    def migrate(self, s, me):
        """migrate_vma_setup() (mm/migrate_device.c): a locked page is not collected
        (cpages < npages), so the driver retries or maps system memory remotely."""
        if not s.busy:
            return me.goto("bind", s._replace(placed=1))
        if me.tries < self.config.retry_bound:
            return me.goto("backoff", s, "-EBUSY", tries=me.tries + 1)
        return me.goto("bind", s._replace(placed=2), "fallback: map system memory")

    @fault.label(when=lambda m, s, me: not s.busy)
    def backoff(self, s, me):
        """Wait for the folio to be unlocked, then retry the migration."""
        return me.goto("migrate", s)

    @fault.label
    def bind(self, s, me):
        """The GPU's atomic increment through the mapping the fault installed (the driver's
        bind, e.g. xe_svm_range_bind in drivers/gpu/drm/xe/xe_svm.c)."""
        return me.done(s._replace(value=s.value + 1, done=s.done + 1))

    @always
    def atomic_safe(self, s):
        """No atomic runs through a remote mapping that cannot honour it."""
        return s.placed != 2 or self.config.sys_atomics

    @always
    def retries_count_holds(self, s, procs):
        """Auxiliary: each retry saw its own CPU hold (tries <= holds taken, and < while the
        hold that will be counted next is still on)."""
        label, loc = procs["gpu"]
        taken = self.config.busy_for - s.holds_left
        pending = s.busy and label in ("idle", "migrate")
        return loc["tries"] + pending <= taken and taken >= s.busy

    @always
    def value_counted(self, s):
        """Every completed increment is in the value."""
        return s.value == s.done
