-- HS2017 lines that HS2022 split, and where the trade went (trade-weighted concordance).
SELECT from_code AS hs2017, to_code AS hs2022, round(weight, 3) AS weight, weight_method, relationship, is_ambiguous
FROM marts.hs_concordance
WHERE from_version = 'HS2017' AND from_code IN (
    SELECT from_code FROM marts.hs_concordance WHERE from_version = 'HS2017' GROUP BY 1 HAVING count(*) > 1)
ORDER BY from_code, weight DESC;
