-- Mirror gap ratio before the electronic data exchange, after it, and under Phase II (both factors).
SELECT direction, regime, cif_fob_factor,
       round(100 * sum(gap_usd) / sum(exporter_fob_usd), 1) AS gap_pct_of_exporter_value
FROM marts.mirror_flows
WHERE freq = 'A'
GROUP BY ALL ORDER BY direction, cif_fob_factor, min(year);
