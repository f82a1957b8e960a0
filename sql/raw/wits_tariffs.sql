-- raw.wits_tariffs: UNCTAD TRAINS tariff observations from WITS, one row per importer ×
-- partner × HS6 × year × archived body, as received (codes resolved from SDMX-JSON). A request fetched again
-- (a year re-checked) may bring another body: both are kept (sha256, fetched_at); staging.tariffs uses the newest.
-- rate_pct is OBS_VALUE as received: a simple average over the line's ad-valorem national lines
-- only (0 when none is ad valorem: staging.tariffs makes that unknown). requested_datatype:
-- 'reported' or 'aveestimated' (WITS's ad valorem equivalents of non-ad-valorem duties).
-- wits_observations: the parsed bodies (registered by the loader).
SELECT
    request_id,
    sha256,
    CAST(fetched_at AS TIMESTAMP) AS fetched_at,
    CAST(vintage AS DATE) AS vintage,
    is_sample,
    REPORTER AS importer_m49,
    PARTNER AS partner_m49,
    PRODUCTCODE AS product_code,
    CAST(TIME_PERIOD AS INTEGER) AS year,
    NOMENCODE AS nomenclature,
    TARIFFTYPE AS tariff_type,
    DATATYPE AS data_type,
    OBS_VALUE AS rate_pct,
    TRY_CAST(MIN_RATE AS DOUBLE) AS min_rate_pct,
    TRY_CAST(MAX_RATE AS DOUBLE) AS max_rate_pct,
    TRY_CAST(TOTALNOOFLINES AS INTEGER) AS national_lines,
    TRY_CAST(NBR_PREF_LINES AS INTEGER) AS preferential_lines,
    TRY_CAST(NBR_MFN_LINES AS INTEGER) AS mfn_lines,
    TRY_CAST(NBR_NA_LINES AS INTEGER) AS na_lines,
    OBS_VALUE_MEASURE AS measure,
    requested_datatype
FROM wits_observations
