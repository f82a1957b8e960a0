-- raw.fta_schedule: CPFTA Phase-II schedule lines of both parties (importer = party): imported
-- with `tradeflow schedule import`, else the synthetic sample schedule (is_sample = true).
SELECT party, tariff_line, description, CAST(base_rate AS DOUBLE) AS base_rate, category, hs_version, source,
       CAST(is_sample AS BOOLEAN) AS is_sample
FROM fta_schedule_frame
