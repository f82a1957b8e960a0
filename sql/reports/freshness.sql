-- Data freshness per source, for the index page.
SELECT 'UN Comtrade, ' || reporter || ' (' || CASE freq WHEN 'A' THEN 'annual' ELSE 'monthly' END || ')' AS source,
       CASE freq WHEN 'A' THEN min(year)::VARCHAR || ' – ' || max(year)::VARCHAR
                 ELSE strftime(min(period_start), '%Y-%m') || ' – ' || strftime(max(period_start), '%Y-%m') END AS periods,
       max(vintage)::VARCHAR AS vintage,
       bool_or(is_sample) AS is_sample
FROM marts.trade_flows GROUP BY reporter, freq
UNION ALL
SELECT 'WITS/TRAINS tariffs, ' || importer, min(year)::VARCHAR || ' – ' || max(year)::VARCHAR, max(vintage)::VARCHAR, bool_or(is_sample)
FROM staging.tariffs GROUP BY importer
UNION ALL
SELECT 'CPFTA Phase-II schedule, ' || party, any_value(hs_version) || ' tariff lines', any_value(source), bool_or(is_sample)
FROM raw.fta_schedule GROUP BY party
ORDER BY 1
