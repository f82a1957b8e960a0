"""Assets grouped by domain: sources, warehouse (raw → staging → marts), reports."""
