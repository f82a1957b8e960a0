-- raw.goals: goals from src/tradeflow/green_channel/goals.yaml (plus one per plan basket).
SELECT * FROM goals_frame
