"""The one exception family svmcheck raises for bad input.

Every message is one sentence that names the offending value, the choices, and the fix; the
CLI prints it on one line and exits 2. A property violation is a *result*, never an exception.
"""


class SvmCheckError(Exception):
    """Bad input: the CLI prints ``error: <message>`` and exits 2."""


class ModelDefinitionError(SvmCheckError):
    """A model, step, flow or property is declared wrongly (caught when the model is built)."""


class ConfigError(SvmCheckError):
    """An unknown configuration parameter, a value of the wrong type, or an impossible value."""


class UnknownModelError(SvmCheckError):
    """No shipped model has that name and it is not a path to a .py file."""


class UnknownPropertyError(SvmCheckError):
    """A property name the model does not declare."""


class NondeterministicModelError(SvmCheckError):
    """Re-executing a step from the same state gave a different result."""


class CounterexampleError(SvmCheckError):
    """A counterexample file is unreadable, corrupt, foreign, or no longer replays."""


class StateError(ModelDefinitionError):
    """A state is not hashable or holds a value whose hash is not deterministic."""
