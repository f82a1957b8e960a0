-- marts.goal_progress: one row per goal and year. actual is the goal's metric; target_path runs
-- geometrically from the baseline (baseline_year, baseline_value) to the target (target_year,
-- target_value = value, or baseline × multiple); gap = actual − target_path; required_cagr =
-- (target_value / latest_actual)^(1 / (target_year − latest_year)) − 1, the growth a year needed
-- from the latest actual to meet the target; nowcast_12m = the sum of the latest 12 months of
-- the monthly metric (period ending nowcast_period_end); status: on track when the latest
-- actual (or the nowcast, if higher) reaches the target path, off track otherwise, no target
-- when no published target exists (tracked as a trend). Sources in raw.goals.
WITH g AS (
    SELECT g.*, b.value AS baseline_value,
           coalesce(g.target_value, g.target_multiple * b.value) AS target
    FROM raw.goals AS g LEFT JOIN raw.goal_series AS b ON b.goal_id = g.goal_id AND b.year = g.baseline_year
),
latest AS (
    SELECT goal_id, arg_max(year, year) AS latest_year, arg_max(value, year) AS latest_actual
    FROM raw.goal_series WHERE value IS NOT NULL GROUP BY goal_id
),
months AS (
    SELECT goal_id, period_start, value,
           sum(value) OVER (PARTITION BY goal_id ORDER BY period_start ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS r12,
           count(*) OVER (PARTITION BY goal_id ORDER BY period_start ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS n12
    FROM raw.goal_monthly
),
nowcast AS (
    SELECT goal_id, arg_max(r12, period_start) AS nowcast_12m, max(period_start) AS nowcast_period_end
    FROM months WHERE n12 = 12 GROUP BY goal_id
),
path AS (
    SELECT s.goal_id, s.year, s.value AS actual,
           CASE WHEN g.target IS NOT NULL AND s.year BETWEEN g.baseline_year AND g.target_year
                THEN g.baseline_value * power(g.target / g.baseline_value,
                                              (s.year - g.baseline_year) / (g.target_year - g.baseline_year)) END AS target_path
    FROM raw.goal_series AS s JOIN g USING (goal_id)
)
SELECT g.goal_id, g.label, g.section, g.paraphrase, g.unit, p.year, p.actual, p.target_path,
       p.actual - p.target_path AS gap,
       g.baseline_year, g.baseline_value, g.target AS target_value, g.target_year,
       l.latest_year, l.latest_actual,
       CASE WHEN g.target IS NOT NULL AND g.target_year > l.latest_year AND l.latest_actual > 0
            THEN power(g.target / l.latest_actual, 1.0 / (g.target_year - l.latest_year)) - 1 END AS required_cagr,
       n.nowcast_12m, n.nowcast_period_end,
       CASE WHEN g.target IS NULL THEN 'no target'
            WHEN greatest(l.latest_actual, coalesce(n.nowcast_12m, l.latest_actual)) >=
                 (SELECT target_path FROM path q WHERE q.goal_id = g.goal_id AND q.year = l.latest_year) THEN 'on track'
            ELSE 'off track' END AS status,
       g.target_statement, g.target_source
FROM path AS p JOIN g USING (goal_id) JOIN latest AS l USING (goal_id) LEFT JOIN nowcast AS n USING (goal_id)
ORDER BY g.goal_id, p.year
