-- marts.khunjerab_before_after: the Dec 2024 regime change in one table. Seasons run April to
-- March; a season's winter is its December–March. Seasons whose winter began before Dec 2024
-- are 'before' (seasonal closure), later ones 'after' (year-round). Only seasons the data cover
-- from April to March count. winter_share = winter ÷ the season's total.
WITH bounds AS (SELECT min(period_start) AS first, max(period_start) AS last FROM marts.trade_flows WHERE freq = 'M'),
seasons AS (
    SELECT r.*, CASE WHEN r.month >= 4 THEN r.year ELSE r.year - 1 END AS season
    FROM marts.monthly_by_basis AS r
),
per_season AS (
    SELECT reporter, flow, basis, product_group, season,
           coalesce(sum(value_usd) FILTER (WHERE month IN (12, 1, 2, 3)), 0) AS winter_usd, sum(value_usd) AS season_usd,
           bool_or(is_sample) AS is_sample
    FROM seasons, bounds
    WHERE make_date(season, 4, 1) >= bounds.first AND make_date(season + 1, 3, 1) <= bounds.last
    GROUP BY ALL
)
SELECT reporter, flow, basis, product_group,
       CASE WHEN season >= 2024 THEN 'after: year-round (from Dec 2024)' ELSE 'before: closed Dec–Mar' END AS regime,
       count(*) AS seasons, min(season) AS first_season, max(season) AS last_season,
       sum(winter_usd) / nullif(sum(season_usd), 0) AS winter_share,
       sum(winter_usd) / count(*) / 4 AS avg_winter_month_usd,
       bool_or(is_sample) AS is_sample
FROM per_season
GROUP BY ALL
ORDER BY ALL
