WITH listed AS (
    SELECT {{ hs_version('classification') }} AS hs_version, code, description, source
    FROM {{ source('raw', 'reference_hs') }}
),
codes AS (  -- the chapters of every version listed, and of the three the project converts between
    SELECT * FROM listed
    UNION
    SELECT v.hs_version, c.chapter, c.name, 'seed'
    FROM read_csv({{ reference_csv('hs_chapters.csv') }}, header = true, all_varchar = true) AS c
    CROSS JOIN (SELECT hs_version FROM listed WHERE hs_version IS NOT NULL
                UNION VALUES ('HS2012'), ('HS2017'), ('HS2022')) AS v(hs_version)
),
dedup AS (
    SELECT * FROM codes QUALIFY row_number() OVER (PARTITION BY hs_version, code ORDER BY description NULLS LAST, source) = 1  -- a total order
)
SELECT
    d.hs_version,
    d.code,
    length(d.code) AS level,
    coalesce(d.description, 'heading ' || d.code || ' (' || ch.name || ')') AS description,
    substr(d.code, 1, 2) AS chapter,
    ch.name AS chapter_name,
    s.section,
    s.name AS section_name,
    {{ is_agro('d.code') }} AS is_agro,
    {{ is_perishable('d.code') }} AS is_perishable,
    d.source
FROM dedup AS d
LEFT JOIN read_csv({{ reference_csv('hs_chapters.csv') }}, header = true, all_varchar = true) AS ch ON ch.chapter = substr(d.code, 1, 2)
LEFT JOIN read_csv({{ reference_csv('hs_sections.csv') }}, header = true, all_varchar = true) AS s
    ON substr(d.code, 1, 2) BETWEEN s.first_chapter AND s.last_chapter
WHERE d.hs_version IS NOT NULL
ORDER BY d.hs_version, d.code
