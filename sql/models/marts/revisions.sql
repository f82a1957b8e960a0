-- Incremental by batch (sql/macros/batch_incremental.sql): every window and join below partitions inside
-- (query_scope, reporterCode, freq, period), so within one raw batch (reporterCode, freqCode, period); a batch's rows
-- are those of one (reporter, freq, period) — reporter as the table names it (ISO3 from staging.countries; a change
-- of countries rebuilds the whole table).
{{ config(materialized='batch_incremental',
          batch_row_hash=var('comtrade_row_hash'), batch_source_state=var('comtrade_source_state'),
          batch_key_raw=["coalesce((SELECT c.iso3 FROM staging.countries AS c WHERE c.m49 = reporterCode), reporterCode::VARCHAR)",
                         'freqCode',
                         "CASE freqCode WHEN 'A' THEN period ELSE substr(period, 1, 4) || '-' || substr(period, 5, 2) END"],
          batch_key_table=['reporter', 'freq', 'period']) }}
{#- only periods stored in more than one vintage can hold a revision: the lines of the others (most rows of a
    first load: 4.5 of 5 M records in the benchmark) never meet the window or the joins below; a hash collision only
    adds a period, whose single vintage then yields no row -#}
{%- set revised_periods -%}
  hash(query_scope, reporterCode, freqCode, period) IN (
      SELECT hash(query_scope, reporterCode, freqCode, period) FROM {{ source('raw', 'comtrade_records') }}
      WHERE {{ batch_filter() }}
      GROUP BY query_scope, reporterCode, freqCode, period HAVING count(DISTINCT vintage) > 1)
{%- endset -%}
WITH {{ comtrade_lines(batch_filter() ~ ' AND ' ~ revised_periods) }},  -- all rows, or the batches an incremental build recomputes
versions AS (
    SELECT query_scope, reporterCode, freq, period, vintage, min(fetched_at) AS arrived_at
    FROM rec GROUP BY ALL
),
steps AS (
    SELECT *, lag(vintage) OVER (PARTITION BY query_scope, reporterCode, freq, period ORDER BY vintage) AS previous_vintage
    FROM versions
),
new_side AS (
    SELECT s.query_scope, s.reporterCode, s.freq, s.period, s.previous_vintage, s.vintage, s.arrived_at,
           l.partnerCode, l.flow, l.hs6, l.year, l.month, l.value_usd, l.is_sample
    FROM steps s JOIN lines l USING (query_scope, reporterCode, freq, period, vintage)
    WHERE s.previous_vintage IS NOT NULL
),
old_side AS (
    SELECT s.query_scope, s.reporterCode, s.freq, s.period, s.previous_vintage, s.vintage, s.arrived_at,
           l.partnerCode, l.flow, l.hs6, l.year, l.month, l.value_usd, l.is_sample
    FROM steps s JOIN lines l ON l.query_scope = s.query_scope AND l.reporterCode = s.reporterCode AND l.freq = s.freq
                              AND l.period = s.period AND l.vintage = s.previous_vintage
),
diff AS (
    SELECT coalesce(n.query_scope, o.query_scope) AS query_scope, coalesce(n.reporterCode, o.reporterCode) AS reporter_code,
           coalesce(n.partnerCode, o.partnerCode) AS partner_code, coalesce(n.flow, o.flow) AS flow,
           coalesce(n.freq, o.freq) AS freq, coalesce(n.period, o.period) AS period, coalesce(n.year, o.year) AS year,
           coalesce(n.month, o.month) AS month, coalesce(n.hs6, o.hs6) AS hs6,
           coalesce(n.previous_vintage, o.previous_vintage) AS previous_vintage, coalesce(n.vintage, o.vintage) AS vintage,
           coalesce(n.arrived_at, o.arrived_at) AS arrived_at,
           CASE WHEN o.hs6 IS NULL THEN 'added' WHEN n.hs6 IS NULL THEN 'dropped' ELSE 'revised' END AS line_change,
           o.value_usd AS value_usd_before, n.value_usd AS value_usd,
           coalesce(n.value_usd, 0) - coalesce(o.value_usd, 0) AS revision_usd,
           coalesce(n.is_sample, o.is_sample) AS is_sample
    FROM new_side n
    FULL JOIN old_side o ON o.query_scope = n.query_scope AND o.reporterCode = n.reporterCode AND o.freq = n.freq
        AND o.period = n.period AND o.vintage = n.vintage AND o.partnerCode = n.partnerCode AND o.flow = n.flow
        AND o.hs6 = n.hs6
    WHERE n.value_usd IS DISTINCT FROM o.value_usd
)
SELECT
    CASE d.query_scope WHEN 'reporter' THEN 'UN Comtrade' ELSE 'UN Comtrade, all-reporters World exports' END AS source,
    coalesce(r.iso3, d.reporter_code::VARCHAR) AS reporter,
    coalesce(p.iso3, d.partner_code::VARCHAR) AS partner,
    d.flow, d.freq,
    CASE d.freq WHEN 'A' THEN d.period ELSE substr(d.period, 1, 4) || '-' || substr(d.period, 5, 2) END AS period,
    d.year, d.month, make_date(d.year, coalesce(d.month, 1), 1) AS period_start, d.hs6,
    d.previous_vintage, d.vintage, d.arrived_at, d.line_change, d.value_usd_before, d.value_usd, d.revision_usd,
    row_number() OVER (PARTITION BY d.query_scope, d.reporter_code, d.freq, d.period, d.vintage
                       ORDER BY abs(d.revision_usd) DESC, d.partner_code, d.flow, d.hs6) AS rank,
    d.is_sample
FROM diff d
LEFT JOIN {{ ref('countries') }} r ON r.m49 = d.reporter_code
LEFT JOIN {{ ref('countries') }} p ON p.m49 = d.partner_code
ORDER BY source, reporter, freq, period, vintage, rank
