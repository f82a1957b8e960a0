{# The CTEs `rec`, `line_dups` and `lines` that marts.period_changes and marts.revisions start from:
   rec: the HS6 records of raw.comtrade_records that count for the reporter's total with the world
   (partner2 World, customs C00, all modes), narrow; `where` is SQL ANDed to the filter (revisions:
   its batch_filter()).
   lines: one value per line and vintage — a vintage fetched twice counts once, its newest fetch
   (then the smaller sha256); a line twice in one body counts its larger value, as
   staging.comtrade_flows. Only lines stored more than once (found by a 64-bit hash of the line's
   key, rows of one line share it) go through the window: at 5 M records the window over every row
   took 4.9 of revisions' 7.7 s. #}
{% macro comtrade_lines(where='TRUE') -%}
rec AS (
    SELECT query_scope, reporterCode, partnerCode, flowCode AS flow, freqCode AS freq, period, refYear AS year,
           CASE WHEN freqCode = 'M' THEN refMonth END AS month, cmdCode AS hs6, vintage, fetched_at, sha256,
           primaryValue AS value_usd, is_sample
    FROM {{ source('raw', 'comtrade_records') }}
    WHERE aggrLevel = 6 AND regexp_full_match(cmdCode, '[0-9]{6}') AND partner2Code = 0 AND customsCode = 'C00'
      AND motCode = 0
      AND {{ where }}
),
line_dups AS (
    SELECT hash(query_scope, reporterCode, partnerCode, flow, freq, period, hs6, vintage) AS h
    FROM rec GROUP BY h HAVING count(*) > 1
),
lines AS (
    SELECT * FROM rec
    WHERE hash(query_scope, reporterCode, partnerCode, flow, freq, period, hs6, vintage) NOT IN (SELECT h FROM line_dups)
    UNION ALL
    SELECT * FROM rec
    WHERE hash(query_scope, reporterCode, partnerCode, flow, freq, period, hs6, vintage) IN (SELECT h FROM line_dups)
    QUALIFY row_number() OVER (PARTITION BY query_scope, reporterCode, partnerCode, flow, freq, period, hs6, vintage
                               ORDER BY fetched_at DESC, sha256, value_usd DESC NULLS LAST) = 1
)
{%- endmacro %}
