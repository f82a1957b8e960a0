-- Incremental by batch (sql/macros/batch_incremental.sql): a batch is one (reporterCode, freqCode, period) of
-- raw.comtrade_records; every window below partitions inside it, so a refresh recomputes only the batches whose raw
-- rows changed. A batch's rows are those of one (reporter_code, freq, year, month).
{{ config(materialized='batch_incremental',
          batch_row_hash=var('comtrade_row_hash'), batch_source_state=var('comtrade_source_state'),
          batch_key_raw=['reporterCode', 'freqCode', 'refYear', "CASE WHEN freqCode = 'M' THEN refMonth END"],
          batch_key_table=['reporter_code', 'freq', 'year', 'month']) }}
WITH hs6 AS (
    SELECT *
    FROM {{ source('raw', 'comtrade_records') }}
    WHERE aggrLevel = 6
      AND regexp_full_match(cmdCode, '[0-9]{6}')
      AND partner2Code = 0
      AND customsCode = 'C00'
      AND reporterCode <> 97  -- the EU (Eurostat's extra-EU aggregate of its members' trade): never summed with them
      AND {{ batch_filter() }}  -- all rows, or the batches an incremental build recomputes
),
newest AS (
    SELECT *, max(vintage) OVER (PARTITION BY reporterCode, freqCode, period, query_scope) AS newest_vintage,
           bool_or(query_scope = 'reporter') OVER (PARTITION BY reporterCode, freqCode, period) AS has_own_query
    FROM hs6
)
SELECT
    reporterCode AS reporter_code,
    partnerCode AS partner_code,
    reporterISO AS reporter_iso,
    partnerISO AS partner_iso,
    flowCode AS flow,
    freqCode AS freq,
    refYear AS year,
    CASE WHEN freqCode = 'M' THEN refMonth END AS month,
    cmdCode AS hs6,
    classificationCode AS classification,
    motCode AS mot_code,
    primaryValue AS value_usd,
    cifvalue AS cif_usd,
    fobvalue AS fob_usd,
    netWgt AS net_weight_kg,
    coalesce(isNetWgtEstimated, false) AS net_weight_estimated,
    qty AS quantity,
    qtyUnitCode AS quantity_unit_code,
    qtyUnitAbbr AS quantity_unit,
    coalesce(isQtyEstimated, false) AS quantity_estimated,
    vintage,
    fetched_at,
    request_id,
    is_sample
FROM newest
WHERE vintage = newest_vintage AND NOT (query_scope = 'all_reporters' AND has_own_query)
QUALIFY row_number() OVER (
    PARTITION BY reporterCode, partnerCode, flowCode, freqCode, period, cmdCode, motCode
    ORDER BY query_scope = 'all_reporters', fetched_at DESC, sha256,
             -- a total order (the same key twice in one body): the same row on any number of threads
             primaryValue DESC NULLS LAST, cifvalue DESC NULLS LAST, fobvalue DESC NULLS LAST, netWgt DESC NULLS LAST,
             qty DESC NULLS LAST, qtyUnitCode, classificationCode, reporterISO, partnerISO
) = 1
ORDER BY reporter_code, partner_code, flow, freq, year, month, hs6, mot_code  -- stored in key order: the marts (one thread) add rows in the same order every run
