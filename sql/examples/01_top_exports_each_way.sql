-- Top 10 HS6 products each way in the latest full year, as the exporter reports them.
WITH latest AS (SELECT max(year) AS y FROM marts.trade_flows WHERE freq = 'A'),
ranked AS (
    SELECT t.reporter || '→' || t.partner AS direction, t.hs6, t.hs_version, sum(t.value_usd) AS v
    FROM marts.trade_flows t JOIN latest ON t.year = latest.y
    WHERE t.freq = 'A' AND t.flow = 'X' AND t.reporter IN ('CHN', 'PAK') AND t.partner IN ('CHN', 'PAK')
    GROUP BY 1, 2, 3
)
SELECT direction, r.hs6, h.description, round(v / 1e6, 1) AS exports_musd,
       rank() OVER (PARTITION BY direction ORDER BY v DESC) AS rank
FROM ranked r LEFT JOIN marts.dim_hs h ON h.hs_version = r.hs_version AND h.code = r.hs6
QUALIFY rank <= 10
ORDER BY direction, rank;
