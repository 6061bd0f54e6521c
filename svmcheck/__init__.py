"""svmcheck: a model checker and executable model for GPU shared-virtual-memory protocols.

The author's API (see ``svmcheck.model`` and ``svmcheck.props``)::

    from svmcheck import Model, Config, param, Flow, step, outcome
    from svmcheck import always, sometimes, eventually, leads_to, completes, sometimes_step, clause
"""
__version__ = "0.1.0"

from .config import Config, param  # noqa: E402
from .model import Flow, Model, outcome, step  # noqa: E402
from .props import (always, clause, completes, eventually, leads_to,  # noqa: E402
                    one_of, sometimes, sometimes_step)

__all__ = ["Config", "param", "Flow", "Model", "outcome", "step", "always", "clause",
           "completes", "eventually", "leads_to", "one_of", "sometimes", "sometimes_step", "__version__"]
