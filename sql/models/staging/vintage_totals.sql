-- staging.vintage_totals: what each stored vintage of a period says a reporter traded with each partner, summed over
-- its HS6 lines (marts.period_changes pairs consecutive vintages of these totals).
-- Incremental by batch (sql/macros/batch_incremental.sql): a batch is one (reporterCode, freqCode, period) of
-- raw.comtrade_records and a total adds up lines of one batch only, so a nightly run that brought one revised period
-- re-adds that period's lines, not every line of every vintage (at 5 M records: the 4.6 s that period_changes spent
-- re-adding everything on every build).
{{ config(materialized='batch_incremental',
          batch_row_hash=var('comtrade_row_hash'), batch_source_state=var('comtrade_source_state'),
          batch_key_raw=['reporterCode', 'freqCode', 'period'],
          batch_key_table=['reporter_code', 'freq', 'period']) }}
WITH {{ comtrade_lines(batch_filter()) }},  -- all rows, or the batches an incremental build recomputes
fetches AS (  -- when a vintage was first fetched: over every fetch of it (lines keeps only the newest)
    SELECT query_scope, reporterCode, partnerCode, flow, freq, period, vintage, min(fetched_at) AS first_fetched_at
    FROM rec GROUP BY ALL
),
totals AS (
    -- DOUBLE money added exactly: a value on the grid of 2^-64 dollars (every finite value from 2^-12 up to 2^52 in
    -- magnitude, and any smaller one on the grid) is a whole number of 2^-64 units, added as a HUGEINT and rounded
    -- once, so the total is the same bits whatever order the rows arrive in, on any number of threads. Values off the
    -- grid (NaN, ±inf, specks below 2^-12 dollars, 2^52 and over) are added in HS6 order (one line per HS6 in a
    -- group: a total order) and then to the exact part.
    SELECT query_scope, reporterCode, partnerCode, flow, freq, period, vintage, min(year) AS year, min(month) AS month,
           sum(CASE WHEN on_grid THEN (value_usd * 18446744073709551616::DOUBLE)::HUGEINT END)::VARCHAR::DOUBLE
               / 18446744073709551616::DOUBLE AS exact_usd,
           sum(value_usd ORDER BY hs6) FILTER (WHERE NOT on_grid) AS off_grid_usd,
           count(*) AS lines, bool_or(is_sample) AS is_sample
    FROM (SELECT *, isfinite(value_usd) AND abs(value_usd) < 4503599627370496::DOUBLE
                    AND value_usd * 18446744073709551616::DOUBLE = floor(value_usd * 18446744073709551616::DOUBLE) AS on_grid
          FROM lines)
    GROUP BY query_scope, reporterCode, partnerCode, flow, freq, period, vintage
)
SELECT t.query_scope, t.reporterCode AS reporter_code, t.partnerCode AS partner_code, t.flow, t.freq, t.period,
       t.vintage, t.year, t.month, f.first_fetched_at, t.exact_usd, t.off_grid_usd, t.lines, t.is_sample
FROM totals AS t
JOIN fetches AS f  -- one row each side per group (a null partner or flow is a group too)
  ON f.query_scope IS NOT DISTINCT FROM t.query_scope AND f.reporterCode IS NOT DISTINCT FROM t.reporterCode
 AND f.partnerCode IS NOT DISTINCT FROM t.partnerCode AND f.flow IS NOT DISTINCT FROM t.flow
 AND f.freq IS NOT DISTINCT FROM t.freq AND f.period IS NOT DISTINCT FROM t.period
 AND f.vintage IS NOT DISTINCT FROM t.vintage
