-- Data freshness per source, for the index page.
SELECT 'UN Comtrade, ' || reporter || ' (' || CASE freq WHEN 'A' THEN 'annual' ELSE 'monthly' END || ')' AS source,
       min(period_start)::VARCHAR || ' – ' || max(period_start)::VARCHAR AS periods, max(vintage)::VARCHAR AS vintage,
       bool_or(is_sample) AS is_sample
FROM marts.trade_flows GROUP BY reporter, freq
UNION ALL
SELECT 'WITS/TRAINS tariffs, ' || importer, min(year)::VARCHAR || ' – ' || max(year)::VARCHAR, max(vintage)::VARCHAR, bool_or(is_sample)
FROM staging.tariffs GROUP BY importer
UNION ALL
SELECT 'CPFTA Phase-II schedule, ' || party, any_value(source), any_value(hs_version), bool_or(is_sample)
FROM raw.fta_schedule GROUP BY party
ORDER BY 1
