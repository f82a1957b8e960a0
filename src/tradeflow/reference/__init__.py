"""Small reference seeds typed into the project (with sources), used when no live list is loaded."""

from importlib import resources
from pathlib import Path


def seed_path(name: str) -> Path:
    """Path of a seed CSV shipped with the package."""
    return Path(str(resources.files("tradeflow.reference") / name))
