"""Deterministic synthetic sample in the exact UN Comtrade shapes.

No real Pakistan–China product-level data are reachable from the build machines, so the
demo runs on numbers generated here. They go through the same archive and parser as live
data, and every row and page built from them is flagged SAMPLE (synthetic).
"""

from tradeflow.sample.generator import SampleResponse, generate_sample, write_sample

__all__ = ["SampleResponse", "generate_sample", "write_sample"]
