"""Exploration engines: breadth-first search, the networkx state graph, liveness."""
from .bfs import Exploration, Limits, explore  # noqa: F401
