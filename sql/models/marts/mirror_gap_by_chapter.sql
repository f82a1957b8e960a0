WITH c AS (
    SELECT direction, year, chapter, cif_fob_factor, is_default_factor, regime,
           {{ exact_sum('exporter_fob_usd') }} AS exporter_fob_usd, {{ exact_sum('importer_cif_usd') }} AS importer_cif_usd,
           {{ exact_sum('importer_fob_usd') }} AS importer_fob_usd, {{ exact_sum('gap_usd') }} AS gap_usd,
           bool_or(is_sample) AS is_sample
    FROM {{ ref('mirror_flows') }} WHERE freq = 'A' GROUP BY ALL
)
SELECT c.*, h.name AS chapter_name,
       CASE WHEN exporter_fob_usd > 0 THEN gap_usd / exporter_fob_usd END AS gap_ratio,
       gap_usd / nullif({{ exact_sum('gap_usd', over='(PARTITION BY direction, year, cif_fob_factor)') }}, 0) AS share_of_total_gap
FROM c LEFT JOIN read_csv({{ reference_csv('hs_chapters.csv') }}, header = true, all_varchar = true) AS h ON h.chapter = c.chapter
ORDER BY ALL
