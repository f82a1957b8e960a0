-- staging.countries: M49 code → ISO3 and name, exactly one row per code. Comtrade's reference
-- lists where a live run archived them, else the typed seed (src/tradeflow/reference/countries.csv).
-- The real Reporters and partnerAreas lists both hold most codes (156, 586, …), so each code
-- takes one row by precedence: Reporters, then partnerAreas, then the seed (source says which).
-- World is 0 / WLD.
WITH seed AS (
    SELECT CAST(m49 AS INTEGER) AS m49, iso3, name, CAST(is_area AS BOOLEAN) AS is_area, 'seed' AS source, 3 AS rank
    FROM read_csv($countries_csv, header = true, all_varchar = true)
),
ref AS (
    SELECT m49, CASE WHEN m49 = 0 THEN 'WLD' ELSE trim(iso3) END AS iso3, name, is_group AS is_area,
           'comtrade:' || list AS source, CASE list WHEN 'Reporters' THEN 1 ELSE 2 END AS rank
    FROM raw.reference_countries
    WHERE nullif(trim(iso3), '') IS NOT NULL OR m49 = 0
),
candidates AS (SELECT * FROM ref UNION ALL SELECT * FROM seed)
SELECT m49, iso3, name, is_area, source
FROM candidates
QUALIFY row_number() OVER (PARTITION BY m49 ORDER BY rank, name, iso3) = 1
ORDER BY m49
