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
    length(d.code) = 6 AND (
        (substr(d.code, 1, 2) BETWEEN '01' AND '24'
            AND substr(d.code, 1, 2) <> '03'
            AND substr(d.code, 1, 4) NOT IN ('0508', '1604', '1605')
            AND d.code NOT IN ('051191', '230120'))
        OR d.code IN ('290543', '290544', '380910', '382460')
        OR substr(d.code, 1, 4) IN ('3301', '3501', '3502', '3503', '3504', '3505', '4101', '4102', '4103', '4301',
                                    '5001', '5002', '5003', '5101', '5102', '5103', '5201', '5202', '5203',
                                    '5301', '5302')
    ) AS is_agro,
    length(d.code) = 6 AND (
        substr(d.code, 1, 4) BETWEEN '0201' AND '0209'
        OR substr(d.code, 1, 4) IN ('0301', '0302', '0303', '0304', '0306', '0307', '0308',
                                    '0401', '0403', '0405', '0406', '0407', '0603')
        OR substr(d.code, 1, 4) BETWEEN '0701' AND '0710'
        OR substr(d.code, 1, 4) BETWEEN '0803' AND '0811'
    ) AS is_perishable,
    d.source
FROM dedup AS d
LEFT JOIN read_csv({{ reference_csv('hs_chapters.csv') }}, header = true, all_varchar = true) AS ch ON ch.chapter = substr(d.code, 1, 2)
LEFT JOIN read_csv({{ reference_csv('hs_sections.csv') }}, header = true, all_varchar = true) AS s
    ON substr(d.code, 1, 2) BETWEEN s.first_chapter AND s.last_chapter
WHERE d.hs_version IS NOT NULL
ORDER BY d.hs_version, d.code
