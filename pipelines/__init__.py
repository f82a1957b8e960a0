"""The Dagster code location: wires the ``tradeflow`` library into assets, checks and schedules.

Nothing here computes; every step calls the library. ``definitions.defs`` is the one
``Definitions`` object (``workspace.yaml`` loads it).
"""
