WITH tot AS (
    SELECT *, max(vintage) OVER (PARTITION BY reporterCode, freqCode, period, query_scope) AS newest_vintage
    FROM {{ source('raw', 'comtrade_records') }}
    WHERE cmdCode = 'TOTAL' AND partner2Code = 0 AND customsCode = 'C00' AND motCode = 0
      AND reporterCode NOT IN ({{ aggregate_reporter_codes() }})  -- the EU and ASEAN: never summed with their members
)
SELECT reporterCode AS reporter_code, reporterISO AS reporter_iso, partnerCode AS partner_code, flowCode AS flow,
       freqCode AS freq, refYear AS year,
       CASE WHEN freqCode = 'M' THEN refMonth END AS month, primaryValue AS value_usd, vintage, is_sample
FROM tot
WHERE vintage = newest_vintage
QUALIFY row_number() OVER (PARTITION BY reporterCode, partnerCode, flowCode, freqCode, period ORDER BY query_scope = 'all_reporters', fetched_at DESC, sha256,
    primaryValue DESC NULLS LAST, reporterISO) = 1  -- a total order: the same row on any number of threads
ORDER BY reporter_code, partner_code, flow, freq, year, month  -- stored in key order (the marts sum exactly: exact_sum)
