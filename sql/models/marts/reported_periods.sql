-- The periods each reporter of the pair has published: a (reporter, freq, period) with any record in marts.trade_flows.
-- Comtrade has no release calendar and each reporter's periods arrive on their own, so a period one side has not
-- published yet is no trade only for that side's own series; it must never meet the other side's records as a zero.
WITH p AS (
    SELECT reporter, freq, year, month, period_start, bool_or(is_sample) AS is_sample
    FROM {{ ref('trade_flows') }} GROUP BY ALL
),
modes AS (SELECT DISTINCT reporter, period_start FROM {{ ref('trade_flows_by_mode') }})
SELECT p.reporter, p.freq, p.year, p.month, p.period_start,
       p.freq = 'M' AND md.reporter IS NOT NULL AS has_modes,
       p.is_sample
FROM p LEFT JOIN modes AS md ON p.freq = 'M' AND md.reporter = p.reporter AND md.period_start = p.period_start
ORDER BY ALL
