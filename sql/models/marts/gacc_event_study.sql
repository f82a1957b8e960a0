WITH ev AS (SELECT * FROM {{ source('raw', 'gacc_events') }}),
offsets AS (SELECT CAST(range AS INTEGER) AS k FROM range(-12, 25)),
-- Months Pakistan has published: any other month is outside the data (no value), never a month without exports.
reported AS (SELECT period_start FROM {{ ref('reported_periods') }} WHERE reporter = 'PAK' AND freq = 'M'),
cells AS (
    SELECT e.event_id, e.event_date, e.product, e.event_type, e.source_url, o.k,
           CAST(date_trunc('month', e.event_date) + to_months(o.k) AS DATE) AS period_start
    FROM (SELECT DISTINCT event_id, event_date, product, event_type, source_url FROM ev) AS e CROSS JOIN offsets AS o
),
exports AS (
    SELECT e.event_id, t.period_start, {{ exact_sum('t.value_usd') }} AS v, bool_or(t.is_sample) AS s
    FROM {{ ref('trade_flows_hs2017') }} AS t JOIN ev AS e ON e.hs6 = t.hs6_2017
    WHERE t.reporter = 'PAK' AND t.partner = 'CHN' AND t.flow = 'X' AND t.freq = 'M'
    GROUP BY ALL
),
joined AS (
    SELECT c.*, CASE WHEN p.period_start IS NOT NULL THEN coalesce(x.v, 0) END AS exports_usd,
           p.period_start IS NOT NULL AS in_data, x.s
    FROM cells AS c
    LEFT JOIN reported AS p ON p.period_start = c.period_start
    LEFT JOIN exports AS x ON x.event_id = c.event_id AND x.period_start = c.period_start
),
pre AS (
    SELECT event_id, {{ exact_avg('exports_usd') }} AS pre_mean, count(*) FILTER (WHERE in_data) AS pre_months
    FROM joined WHERE k < 0 GROUP BY event_id
)
SELECT j.event_id, j.event_date, j.product, j.event_type, j.k AS months_from_event, j.period_start,
       j.exports_usd, p.pre_mean AS pre_event_mean_usd,
       CASE WHEN p.pre_mean > 0 AND p.pre_months = 12 THEN 100 * j.exports_usd / p.pre_mean END AS index_pre_mean_100,
       j.in_data, j.source_url,
       (SELECT bool_or(is_sample) FROM {{ ref('trade_flows') }}) AS is_sample
FROM joined AS j JOIN pre AS p USING (event_id)
ORDER BY j.event_id, j.k
