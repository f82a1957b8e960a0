SELECT CAST(NULL AS VARCHAR) AS importer, CAST(NULL AS VARCHAR) AS partner, CAST(NULL AS INTEGER) AS year,
       CAST(NULL AS VARCHAR) AS hs6, CAST(NULL AS VARCHAR) AS regime,
       CAST(NULL AS DOUBLE) AS imports_usd, CAST(NULL AS DOUBLE) AS eligible_imports_usd,
       CAST(NULL AS DOUBLE) AS utilisation_rate_pct, CAST(NULL AS BOOLEAN) AS is_sample
WHERE false
