-- Incremental by batch (sql/macros/batch_incremental.sql): a batch is one (reporterCode, freqCode, period) of
-- raw.comtrade_records; every window below partitions inside it, so a refresh recomputes only the batches whose raw
-- rows changed. A batch's rows are those of one (reporter_code, freq, year, month).
{{ config(materialized='batch_incremental',
          batch_row_hash=var('comtrade_row_hash'), batch_source_state=var('comtrade_source_state'),
          batch_key_raw=['reporterCode', 'freqCode', 'refYear', "CASE WHEN freqCode = 'M' THEN refMonth END"],
          batch_key_table=['reporter_code', 'freq', 'year', 'month']) }}
WITH hs6 AS NOT MATERIALIZED (
    SELECT rowid AS _rid, *
    FROM {{ source('raw', 'comtrade_records') }}
    WHERE aggrLevel = 6
      AND regexp_full_match(cmdCode, '[0-9]{6}')
      AND partner2Code = 0
      AND customsCode = 'C00'
      AND reporterCode NOT IN ({{ aggregate_reporter_codes() }})  -- the EU and ASEAN: never summed with their members
      AND {{ batch_filter() }}  -- all rows, or the batches an incremental build recomputes
),
-- The wide raw rows (~45 columns) stream through scans and joins against small tables; only the rows of a key
-- stored more than once meet a window, and a narrow one (at 20 M records, windows over the wide rows spilled GBs).
newest AS (  -- per batch and query scope its newest vintage, and whether the reporter's own query covers the batch
    SELECT reporterCode, freqCode, period, query_scope, max(vintage) AS newest_vintage,
           bool_or(query_scope = 'reporter') OVER (PARTITION BY reporterCode, freqCode, period) AS has_own_query
    FROM hs6
    GROUP BY reporterCode, freqCode, period, query_scope
),
kept AS NOT MATERIALIZED (  -- a batch's newest vintage; the all-reporters copy of a batch the reporter's own query covers goes
    SELECT h.*, hash(h.reporterCode, h.partnerCode, h.flowCode, h.freqCode, h.period, h.cmdCode, h.motCode) AS _key
    FROM hs6 AS h
    JOIN newest AS n
      ON n.reporterCode IS NOT DISTINCT FROM h.reporterCode AND n.freqCode IS NOT DISTINCT FROM h.freqCode
     AND n.period IS NOT DISTINCT FROM h.period AND n.query_scope IS NOT DISTINCT FROM h.query_scope
     AND h.vintage = n.newest_vintage
    WHERE NOT (h.query_scope = 'all_reporters' AND n.has_own_query)
),
repeated AS (  -- keys stored more than once, by a 64-bit hash of the key (a collision only sends rows to the window)
    SELECT _key FROM kept GROUP BY _key HAVING count(*) > 1
),
losers AS (  -- of a key stored more than once, every row but the first in this order
    SELECT _rid
    FROM (SELECT _rid, row_number() OVER (
              PARTITION BY reporterCode, partnerCode, flowCode, freqCode, period, cmdCode, motCode
              ORDER BY query_scope = 'all_reporters', fetched_at DESC, sha256,
                       -- a total order (the same key twice in one body): the same row on any number of threads
                       primaryValue DESC NULLS LAST, cifvalue DESC NULLS LAST, fobvalue DESC NULLS LAST,
                       netWgt DESC NULLS LAST, qty DESC NULLS LAST, qtyUnitCode, classificationCode, reporterISO, partnerISO,
                       -- and every other column the table keeps (one body archived under two entries: request_id)
                       qtyUnitAbbr, isNetWgtEstimated, isQtyEstimated, is_sample, request_id
          ) AS n
          FROM kept WHERE _key IN (SELECT _key FROM repeated))
    WHERE n > 1
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
    query_scope,
    is_sample
FROM kept
WHERE _rid NOT IN (SELECT _rid FROM losers)
-- no ORDER BY: an incremental build appends rebuilt batches anyway; what reads this table sums exactly or sorts
