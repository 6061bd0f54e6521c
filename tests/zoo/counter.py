"""Two threads increment a shared counter with a non-atomic load/store: the lost update."""
from typing import NamedTuple

from svmcheck import Config, Flow, Model, always, completes, param, sometimes


class CounterConfig(Config):
    threads: int = param(2, "CPU threads that each increment once", min=1, max=4)


class World(NamedTuple):
    value: int
    done: int
    started: tuple      # started[cpu]: each thread increments once


class Counter(Model):
    """Racy counter: load, then store load+1."""
    name = "counter"
    Config = CounterConfig

    def init(self):
        return World(0, 0, (False,) * self.config.threads)

    inc = Flow("cpu{cpu}", over=dict(cpu=lambda c: range(c.threads)), locals=dict(tmp=0))

    @inc.label(start=True, when=lambda m, s, me: not s.started[me.cpu])
    def load(self, s, me):
        """Read the counter into a register (a plain load)."""
        started = s.started[:me.cpu] + (True,) + s.started[me.cpu + 1:]
        return me.next(s._replace(started=started), tmp=s.value)

    @inc.label
    def store(self, s, me):
        """Write the register back plus one (a plain store)."""
        return me.goto("finish", s._replace(value=me.tmp + 1, done=s.done + 1))

    @inc.label
    def finish(self, s, me):
        """Leave the critical section."""
        return me.done(s)

    @always
    def no_lost_update(self, s):
        """Every finished increment is counted (catches the missing lock)."""
        return s.value == s.done

    @sometimes
    def all_done(self, s):
        """Non-vacuity: every thread finishes."""
        return s.done == self.config.threads

    inc_completes = completes(inc)
