WITH seed AS (
    SELECT CAST(m49 AS INTEGER) AS m49, iso3, name, CAST(is_area AS BOOLEAN) AS is_area, 'seed' AS source, 3 AS rank
    FROM read_csv({{ reference_csv('countries.csv') }}, header = true, all_varchar = true)
),
ref AS (
    SELECT m49, CASE WHEN m49 = 0 THEN 'WLD' ELSE trim(iso3) END AS iso3, name, is_group AS is_area,
           'comtrade:' || list AS source, CASE list WHEN 'Reporters' THEN 1 ELSE 2 END AS rank
    FROM {{ source('raw', 'reference_countries') }}
    WHERE nullif(trim(iso3), '') IS NOT NULL OR m49 = 0
),
candidates AS (SELECT * FROM ref UNION ALL SELECT * FROM seed)
SELECT m49, iso3, name, is_area, source
FROM candidates
QUALIFY row_number() OVER (PARTITION BY m49 ORDER BY rank, name, iso3) = 1
ORDER BY m49
