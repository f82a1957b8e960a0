-- Every arrival of UN Comtrade data (a refresh run's fetches): how many periods were new and how many revised,
-- for the "what changed" page and `tradeflow changes`.
SELECT arrival, arrival_no, is_latest_arrival,
       count(DISTINCT (source, reporter, freq, period)) FILTER (change = 'new period') AS new_periods,
       count(DISTINCT (source, reporter, freq, period)) FILTER (change = 'revision') AS revised_periods
FROM marts.period_changes
GROUP BY ALL ORDER BY arrival_no
