-- Periods whose first vintage arrived (was first fetched) at or after $since, one row per source, reporter,
-- frequency and period, for the "what changed" page and `tradeflow changes`. records: the period's (partner, flow,
-- HS6) records, summed over partners and flows (an HS6 line traded with PAK and reported for WLD counts twice).
SELECT arrival, source, reporter, freq, period, vintage,
       string_agg(DISTINCT partner, ', ' ORDER BY partner) AS partners, sum(lines)::BIGINT AS records
FROM marts.period_changes
WHERE change = 'new period' AND arrived_at >= $since  -- the period's own arrival time, not its sitting's start
GROUP BY arrival, source, reporter, freq, period, period_start, vintage
ORDER BY arrival DESC, source, reporter, freq, period_start
