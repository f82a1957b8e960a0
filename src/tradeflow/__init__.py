"""tradeflow: China–Pakistan trade analytics.

The library never imports Dagster. Data flows
sources → raw archive → warehouse (raw → staging → marts) → indicators → reports;
``pipelines/`` wires these steps into a Dagster code location.
"""

from tradeflow.errors import TradeflowError
from tradeflow.settings import Settings

__all__ = ["Settings", "TradeflowError", "__version__"]
__version__ = "0.1.0"
