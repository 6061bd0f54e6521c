"""64-bit state fingerprints for the hash-compact visited set.

A fingerprint is BLAKE2b (8-byte digest) of a canonical serialization of the state: the C JSON
encoder, which writes every tuple (NamedTuples included) as a list and every int subclass
(IntEnums) as its integer, with no spaces.  So equal states that the model builds from the same
types always serialize, hence fingerprint, identically; the serialization is stable across
processes and runs (no ``hash()``: it is randomised for ``str`` and ``hash(-1) == hash(-2)``),
which is what lets workers partition states and checkpoints be resumed.

Caveats, both *safe* (they can only keep two copies of one state, never merge two states):
``True`` and ``1`` (or ``0.0`` and ``-0.0``) are equal in Python but serialize differently.

Two distinct states share a fingerprint with probability 2**-64 per pair; over a run of ``n``
states the probability that *any* pair collides (which could hide states) is at most
``n*(n-1)/2**65`` (the birthday bound), reported with every hash-compact verdict.
"""
from __future__ import annotations

import hashlib
from json import encoder as _json

from ..errors import StateError

BITS = 64
ALGORITHM = "blake2b-64/json-v1"     # recorded in checkpoints: a change invalidates them


def _unserializable(o):
    raise TypeError(f"{type(o).__name__} value {o!r}")


_encode = _json.c_make_encoder(None, _unserializable, _json.encode_basestring_ascii, None,
                               ":", ",", False, False, True)


def serialize(state) -> bytes:
    try:
        return "".join(_encode(state, 0)).encode()
    except TypeError as e:
        raise StateError(
            f"a state holds a value the fingerprint cannot serialize ({e}); use ints, bools, "
            f"strings, IntEnums and tuples, or run with --exact") from None


def fingerprint(state) -> bytes:
    """The 8-byte digest (little-endian uint64 when read by numpy)."""
    return hashlib.blake2b(serialize(state), digest_size=8).digest()


def collision_bound(n: int) -> float:
    """Upper bound on the probability that some two of ``n`` distinct states collide."""
    return n * (n - 1) / 2.0 ** (BITS + 1)
