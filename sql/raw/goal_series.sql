-- raw.goal_series: each goal's metric (year, value), computed from the marts at build time.
SELECT goal_id, CAST(year AS INTEGER) AS year, CAST(value AS DOUBLE) AS value FROM goal_series_frame
