WITH g0 AS (
    SELECT g.*, b.value AS baseline_value,
           coalesce(g.target_value, g.target_multiple * b.value) AS target
    FROM {{ ref('goals') }} AS g LEFT JOIN {{ ref('goal_actuals') }} AS b ON b.goal_id = g.goal_id AND b.year = g.baseline_year
),
g AS (  -- a target below the baseline is a reduction: a value reaches a level when toward·(value − level) ≥ 0
    SELECT *, CASE WHEN target < baseline_value THEN 'reduction' WHEN target IS NOT NULL THEN 'increase' END AS direction,
           CASE WHEN target < baseline_value THEN -1 ELSE 1 END AS toward
    FROM g0
),
latest AS (
    SELECT goal_id, arg_max(year, year) AS latest_year, arg_max(value, year) AS latest_actual
    FROM {{ ref('goal_actuals') }} WHERE value IS NOT NULL GROUP BY goal_id
),
months AS (
    SELECT goal_id, period_start, value,
           {{ exact_sum('value', over='w') }} AS r12, count(*) OVER w AS n12,
           min(period_start) OVER w AS first_month
    FROM {{ ref('goal_actuals_monthly') }}
    WINDOW w AS (PARTITION BY goal_id ORDER BY period_start ROWS BETWEEN 11 PRECEDING AND CURRENT ROW)
),
nowcast AS (  -- 12 consecutive months (no gap in the window)
    SELECT goal_id, arg_max(r12, period_start) AS nowcast_12m, max(period_start) AS nowcast_period_end
    FROM months WHERE n12 = 12 AND first_month = period_start - INTERVAL 11 MONTH GROUP BY goal_id
),
start AS (
    SELECT l.goal_id, l.latest_year, l.latest_actual, n.nowcast_12m, n.nowcast_period_end,
           n.nowcast_period_end IS NOT NULL AND year(n.nowcast_period_end) + (month(n.nowcast_period_end) - 12) / 12 > l.latest_year
               AS from_nowcast
    FROM latest AS l LEFT JOIN nowcast AS n USING (goal_id)
),
start2 AS (
    SELECT *,
           CASE WHEN from_nowcast THEN nowcast_12m ELSE latest_actual END AS start_value,
           CASE WHEN from_nowcast THEN year(nowcast_period_end) + (month(nowcast_period_end) - 12) / 12
                ELSE latest_year END AS start_time
    FROM start
),
path AS (  -- a goal whose metric returned no rows keeps one row, at its baseline year, with no actual
    SELECT g.goal_id, CAST(coalesce(s.year, g.baseline_year) AS INTEGER) AS year, s.value AS actual,
           CASE WHEN g.target IS NOT NULL AND coalesce(s.year, g.baseline_year) BETWEEN g.baseline_year AND g.target_year
                THEN {{ goal_path('g', 'coalesce(s.year, g.baseline_year)') }} END AS target_path
    FROM g LEFT JOIN {{ ref('goal_actuals') }} AS s USING (goal_id)
),
judged AS (
    SELECT g.goal_id, st.*,
           CASE WHEN g.target IS NOT NULL AND st.start_time BETWEEN g.baseline_year AND g.target_year
                THEN {{ goal_path('g', 'st.start_time') }} END AS status_target_path,
           (SELECT p.actual FROM path AS p WHERE p.goal_id = g.goal_id AND p.year = g.target_year) AS actual_at_target
    FROM g LEFT JOIN start2 AS st USING (goal_id)
)
SELECT g.goal_id, g.label, g.section, g.paraphrase, g.unit, p.year, p.actual, p.target_path,
       p.actual - p.target_path AS gap,
       g.baseline_year, g.baseline_value, g.target AS target_value, g.target_year, g.direction,
       j.latest_year, j.latest_actual,
       j.start_value AS cagr_start_value, j.start_time AS cagr_start_time,
       CASE WHEN j.from_nowcast THEN '12 months to ' || strftime(j.nowcast_period_end, '%b %Y')
            ELSE 'year ' || j.latest_year END AS cagr_start_basis,
       CASE WHEN g.target IS NOT NULL AND g.target_year > j.start_time AND j.start_value > 0 AND g.target > 0
            THEN power(g.target / j.start_value, 1.0 / (g.target_year - j.start_time)) - 1 END AS required_cagr,
       j.nowcast_12m, j.nowcast_period_end, j.status_target_path,
       CASE WHEN g.target_value IS NULL AND g.target_multiple IS NULL THEN 'no target'
            WHEN j.latest_year IS NULL THEN 'no data'  -- the metric has no value in any year
            -- no value in the baseline year: no path, no direction (a multiple has no target level either)
            WHEN g.baseline_value IS NULL THEN 'no baseline data'
            WHEN g.target_year <= j.latest_year THEN
                CASE WHEN j.actual_at_target IS NULL THEN 'no data for target year'
                     WHEN g.toward * (j.actual_at_target - g.target) >= 0 THEN 'met' ELSE 'missed' END
            WHEN j.start_time < g.baseline_year THEN 'before baseline'
            WHEN j.start_time = g.baseline_year THEN 'baseline year'  -- no data after the baseline yet: no progress to judge
            WHEN g.toward * (j.start_value - j.status_target_path) >= 0 THEN 'on track'
            ELSE 'off track' END AS status,
       g.target_statement, g.target_source, g.is_sample
FROM path AS p JOIN g USING (goal_id) JOIN judged AS j USING (goal_id)
ORDER BY g.goal_id, p.year
