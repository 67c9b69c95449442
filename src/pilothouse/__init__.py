"""Pilothouse: agentic GitOps with a persistent workspace.

The package is layered (see ``.importlinter``): ``cli`` on top, then the agents and
the pipeline, then the workspace and the integrations, with ``core`` at the bottom.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
