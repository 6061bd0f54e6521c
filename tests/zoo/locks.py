"""Two threads each take two locks, then release both: deadlock iff the orders differ.

Positions of a thread: idle, holding its first lock (at ``second``), holding both (at
``release``).  The locks are derived from the positions, so a state is a pair of positions.

* ``locks_same`` (both take A then B): the pairs where both hold A are unreachable, leaving
  (I,I) (S,I) (R,I) (I,S) (I,R): **5 states, 6 transitions**, no deadlock, no terminal state.
* ``locks_opposite`` (t0 takes A then B, t1 takes B then A): additionally (S,S), where t0
  holds A and waits for B while t1 holds B and waits for A: **6 states, 8 transitions**, one
  deadlock at depth 2.
"""
from typing import NamedTuple

from svmcheck import Flow, Model, completes

FREE = -1


class World(NamedTuple):
    owner: tuple        # owner[lock]: thread index or FREE (lock 0 = A, lock 1 = B)


class _Locks(Model):
    """Base: subclasses pick the lock order of thread 1."""
    order = ((0, 1), (0, 1))    # order[thread] = (first lock, second lock)

    def init(self):
        return World((FREE, FREE))

    def _take(self, s, lock, t):
        owner = list(s.owner)
        owner[lock] = t
        return World(tuple(owner))

    work = Flow("t{t}", over=dict(t=(0, 1)))

    @work.label(start=True, when=lambda m, s, me: s.owner[m.order[me.t][0]] == FREE)
    def first(self, s, me):
        """Take the first lock (mutex_lock)."""
        return me.next(self._take(s, self.order[me.t][0], me.t))

    @work.label(when=lambda m, s, me: s.owner[m.order[me.t][1]] == FREE)
    def second(self, s, me):
        """Take the second lock (mutex_lock)."""
        return me.next(self._take(s, self.order[me.t][1], me.t))

    @work.label
    def release(self, s, me):
        """Release both locks (mutex_unlock twice)."""
        return me.done(World((FREE, FREE)))

    def waits_for(self, s):
        """A thread holding only its first lock waits for its second lock's owner."""
        for t in (0, 1):
            first, second = self.order[t]
            holder = s.owner[second]
            if s.owner[first] == t and holder not in (FREE, t):
                yield f"t{t}", "lock " + "AB"[second], f"t{holder}"

    work_completes = completes(work)


class LocksSame(_Locks):
    """Both threads take A then B: no deadlock."""
    name = "locks_same"
    order = ((0, 1), (0, 1))


class LocksOpposite(_Locks):
    """Thread 0 takes A then B, thread 1 takes B then A: the classic ABBA deadlock."""
    name = "locks_opposite"
    order = ((0, 1), (1, 0))
