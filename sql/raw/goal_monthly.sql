-- raw.goal_monthly: each goal's monthly metric (period_start, value) where it has one, for nowcasts.
SELECT goal_id, CAST(period_start AS DATE) AS period_start, CAST(value AS DOUBLE) AS value FROM goal_monthly_frame
