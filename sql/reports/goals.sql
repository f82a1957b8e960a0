-- Goal progress, every goal and year, for the goals scorecard.
SELECT * FROM marts.goal_progress ORDER BY goal_id, year
