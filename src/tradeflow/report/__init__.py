"""HTML reports: one page shell (Jinja2), Plotly figures, plotly.js shipped once beside the pages."""

from tradeflow.report.suite import render_reports, render_snapshot

__all__ = ["render_reports", "render_snapshot"]
