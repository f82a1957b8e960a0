-- Revised periods (old vs new vintage) whose new vintage arrived (was first fetched) at or after $since, by partner and flow
-- (flows are never summed together), largest revision first.
SELECT arrival, source, reporter, partner, flow, freq, period, previous_vintage, vintage, revision_usd, revision_ratio,
       value_usd_before, value_usd, lines_added, lines_dropped, lines_revised
FROM marts.period_changes
WHERE change = 'revision' AND arrived_at >= $since  -- the vintage's own arrival time, not its sitting's start
ORDER BY abs(revision_usd) DESC NULLS LAST, arrival DESC, source, reporter, period, partner, flow
