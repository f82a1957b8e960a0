-- raw.gacc_events: curated GACC market-access events (src/tradeflow/green_channel/gacc_events.yaml), one row per HS6.
SELECT event_id, CAST(event_date AS DATE) AS event_date, product, hs6, event_type, source_url FROM gacc_events_frame
