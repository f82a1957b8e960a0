-- staging.countries: M49 code → ISO3 and name. Comtrade's reference lists where a live run
-- archived them; the typed seed (src/tradeflow/reference/countries.csv) fills the rest.
-- World is 0 / WLD.
WITH seed AS (
    SELECT CAST(m49 AS INTEGER) AS m49, iso3, name, CAST(is_area AS BOOLEAN) AS is_area, 'seed' AS source
    FROM read_csv($countries_csv, header = true, all_varchar = true)
),
ref AS (
    SELECT m49, CASE WHEN m49 = 0 THEN 'WLD' ELSE iso3 END AS iso3, name, is_group AS is_area, 'comtrade' AS source
    FROM raw.reference_countries
    WHERE iso3 IS NOT NULL OR m49 = 0
)
SELECT * FROM ref
UNION ALL
SELECT * FROM seed WHERE m49 NOT IN (SELECT m49 FROM ref)
QUALIFY row_number() OVER (PARTITION BY m49 ORDER BY source) = 1
ORDER BY m49
