-- The per-vintage totals come from staging.vintage_totals (kept incrementally by batch); this model pairs them and
-- groups arrivals, over one row per (query family, reporter, partner, flow, period, vintage), not over every line.
WITH totals AS (
    SELECT query_scope, reporter_code AS reporterCode, partner_code AS partnerCode, flow, freq, period, vintage, year,
           month, first_fetched_at, exact_usd, off_grid_usd, lines, is_sample
    FROM {{ ref('vintage_totals') }}
),
steps AS (
    SELECT *, lag(vintage) OVER (PARTITION BY query_scope, reporterCode, freq, period ORDER BY vintage) AS previous_vintage
    FROM (SELECT query_scope, reporterCode, freq, period, vintage, min(first_fetched_at) AS arrived_at FROM totals GROUP BY ALL)
),
arrivals AS (  -- fetch sittings: a gap of 6 hours or more starts a new arrival
    SELECT arrived_at, min(arrived_at) OVER (PARTITION BY arrival_no) AS arrival, arrival_no::INTEGER AS arrival_no,
           arrival_no = max(arrival_no) OVER () AS is_latest_arrival
    FROM (
        SELECT arrived_at, sum(CASE WHEN gap IS NULL OR gap >= INTERVAL 6 HOUR THEN 1 ELSE 0 END)
                                OVER (ORDER BY arrived_at) AS arrival_no
        FROM (SELECT arrived_at, arrived_at - lag(arrived_at) OVER (ORDER BY arrived_at) AS gap
              FROM (SELECT DISTINCT arrived_at FROM steps))
    )
),
new_t AS (
    SELECT s.query_scope, s.reporterCode, s.freq, s.period, s.previous_vintage, s.vintage, s.arrived_at,
           t.partnerCode, t.flow, t.year, t.month, coalesce(t.exact_usd + t.off_grid_usd, t.exact_usd, t.off_grid_usd) AS value_usd,
           t.lines, t.is_sample
    FROM steps s JOIN totals t USING (query_scope, reporterCode, freq, period, vintage)
),
old_t AS (
    SELECT s.query_scope, s.reporterCode, s.freq, s.period, s.previous_vintage, s.vintage, s.arrived_at,
           t.partnerCode, t.flow, t.year, t.month, coalesce(t.exact_usd + t.off_grid_usd, t.exact_usd, t.off_grid_usd) AS value_usd,
           t.is_sample
    FROM steps s JOIN totals t ON t.query_scope = s.query_scope AND t.reporterCode = s.reporterCode AND t.freq = s.freq
                               AND t.period = s.period AND t.vintage = s.previous_vintage
),
paired AS (
    SELECT coalesce(n.query_scope, o.query_scope) AS query_scope, coalesce(n.reporterCode, o.reporterCode) AS reporter_code,
           coalesce(n.partnerCode, o.partnerCode) AS partner_code, coalesce(n.flow, o.flow) AS flow,
           coalesce(n.freq, o.freq) AS freq, coalesce(n.period, o.period) AS period, coalesce(n.year, o.year) AS year,
           coalesce(n.month, o.month) AS month, coalesce(n.previous_vintage, o.previous_vintage) AS previous_vintage,
           coalesce(n.vintage, o.vintage) AS vintage, coalesce(n.arrived_at, o.arrived_at) AS arrived_at,
           -- a partner or flow a revision dropped is 0 after it, one it added 0 before (never NULL: unknown)
           CASE WHEN o.vintage IS NOT NULL THEN o.value_usd WHEN n.previous_vintage IS NOT NULL THEN 0 END
               AS value_usd_before,
           CASE WHEN n.vintage IS NOT NULL THEN n.value_usd ELSE 0 END AS value_usd, coalesce(n.lines, 0) AS lines,
           coalesce(n.is_sample, o.is_sample) AS is_sample
    FROM new_t n
    FULL JOIN old_t o ON o.query_scope = n.query_scope AND o.reporterCode = n.reporterCode AND o.freq = n.freq
        AND o.period = n.period AND o.vintage = n.vintage AND o.partnerCode = n.partnerCode AND o.flow = n.flow
),
labelled AS (
    SELECT CASE p.query_scope WHEN 'reporter' THEN 'UN Comtrade' ELSE 'UN Comtrade, all-reporters World exports' END
               AS source,
           coalesce(r.iso3, p.reporter_code::VARCHAR) AS reporter, coalesce(c.iso3, p.partner_code::VARCHAR) AS partner,
           p.flow, p.freq,
           CASE p.freq WHEN 'A' THEN p.period ELSE substr(p.period, 1, 4) || '-' || substr(p.period, 5, 2) END AS period,
           p.year, p.month, make_date(p.year, coalesce(p.month, 1), 1) AS period_start,
           CASE WHEN p.previous_vintage IS NULL THEN 'new period' ELSE 'revision' END AS change,
           p.previous_vintage, p.vintage, p.arrived_at, p.value_usd_before, p.value_usd, p.lines, p.is_sample
    FROM paired p
    LEFT JOIN {{ ref('countries') }} r ON r.m49 = p.reporter_code
    LEFT JOIN {{ ref('countries') }} c ON c.m49 = p.partner_code
),
line_counts AS (
    SELECT source, reporter, partner, flow, freq, period, vintage,
           count(*) FILTER (line_change = 'added') AS lines_added,
           count(*) FILTER (line_change = 'dropped') AS lines_dropped,
           count(*) FILTER (line_change = 'revised') AS lines_revised,
           {{ exact_sum('revision_usd') }} AS revision_usd
    FROM {{ ref('revisions') }} GROUP BY ALL
)
SELECT l.source, l.reporter, l.partner, l.flow, l.freq, l.period, l.year, l.month, l.period_start, l.change,
       l.previous_vintage, l.vintage, l.arrived_at, a.arrival, a.arrival_no, a.is_latest_arrival,
       l.value_usd_before, l.value_usd,
       -- from the lines that moved (exactly 0 when none did; totals re-added in another order could differ by float noise)
       CASE WHEN l.change = 'revision' THEN coalesce(c.revision_usd, 0) END AS revision_usd,
       CASE WHEN l.change = 'revision' AND l.value_usd_before <> 0
            THEN coalesce(c.revision_usd, 0) / abs(l.value_usd_before) END AS revision_ratio,
       l.lines,
       CASE WHEN l.change = 'revision' THEN coalesce(c.lines_added, 0) END AS lines_added,
       CASE WHEN l.change = 'revision' THEN coalesce(c.lines_dropped, 0) END AS lines_dropped,
       CASE WHEN l.change = 'revision' THEN coalesce(c.lines_revised, 0) END AS lines_revised,
       l.is_sample
FROM labelled l
JOIN arrivals a USING (arrived_at)
LEFT JOIN line_counts c USING (source, reporter, partner, flow, freq, period, vintage)
ORDER BY arrival_no DESC, source, reporter, freq, period, partner, flow, vintage  -- a total order (the grain)
