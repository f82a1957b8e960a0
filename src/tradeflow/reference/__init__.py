"""Small reference seeds typed into the project (with sources), used when no live list is loaded.

- countries.csv: M49 → ISO3 for the codes tradeflow meets (UN Comtrade reference lists).
- hs_sections.csv, hs_chapters.csv: HS sections and short chapter names (WCO HS nomenclature).
- hs_concordance_sample.csv: the HS2022 → HS2017 pairs the sample's codes need, with the UN
  relationship type (UN Statistics Division HS2022–HS2017 conversion and correlation tables,
  unstats.un.org/unsd/classifications/Econ). Live runs load the full UNSD table instead.
"""

from importlib import resources
from pathlib import Path


def seed_path(name: str) -> Path:
    """Path of a seed CSV shipped with the package."""
    return Path(str(resources.files("tradeflow.reference") / name))
