"""Two actors ping-pong a token while a client waits: weak-fairness liveness, both ways.

World: ``token`` in {0, 1}; ``ping`` (actor a) moves it 0 -> 1 and ``pong`` (actor b) 1 -> 0,
forever.  A client flow starts (``begin``) and then must ``finish``.

* ``livelock``: ``finish`` needs token == 1, so the client is enabled only in every other
  state of the ping-pong cycle.  Weak fairness does not force it to step, so the cycle
  {(0,busy), (1,busy)} is a *fair* lasso: ``job_completes`` is violated by
  begin · (ping · pong)^omega, a trace of 1 + 2 steps with the cycle starting after step 1.
* ``fairloop``: ``finish`` is always enabled, so any cycle where the client stays busy is
  *unfair* to it and no violation is reported.

Hand count for both: token x {idle, at finish} = **4 states**; transitions: 7 for livelock
((0,I): ping, begin; (1,I): pong, begin; (0,F): ping; (1,F): pong, finish) and 8 for
fairloop (finish is also enabled at (0,F)).

``token_returns`` (token == 1 leads to token == 0) holds in both: the only cycle that keeps
the token at 1 is the client's begin/finish loop, which is unfair to b.
"""
from typing import NamedTuple

from svmcheck import Flow, Model, completes, leads_to, step


class World(NamedTuple):
    token: int


class _PingPong(Model):
    """Base: the ping-pong and the client's start."""
    finish_needs_token = True

    def init(self):
        return World(0)

    @step(actor="a", when=lambda m, s: s.token == 0)
    def ping(self, s):
        """Pass the token to b."""
        return World(1)

    @step(actor="b", when=lambda m, s: s.token == 1)
    def pong(self, s):
        """Pass the token back to a."""
        return World(0)

    job = Flow("client")

    @job.label(start=True)
    def begin(self, s, me):
        """Start a request."""
        return me.next(s)

    @job.label(when=lambda m, s, me: s.token == 1 or not m.finish_needs_token)
    def finish(self, s, me):
        """Complete the request (needs the token in the livelock variant)."""
        return me.done(s)

    job_completes = completes(job)

    # holds in both variants: the only cycle inside token == 1 is the client's begin/finish
    # loop, which is unfair to b (pong is enabled in every state of it and never taken)
    token_returns = leads_to("token_returns", lambda m, s: s.token == 1,
                             lambda m, s: s.token == 0, doc="A passed token comes back.")


class Livelock(_PingPong):
    """The client needs the token, which it sees only half the time: a fair livelock."""
    name = "livelock"
    finish_needs_token = True


class FairLoop(_PingPong):
    """The client can always finish, so never finishing is unfair: no violation."""
    name = "fairloop"
    finish_needs_token = False
