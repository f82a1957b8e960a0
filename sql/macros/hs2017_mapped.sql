{# Every code reported in another HS version has an HS2017 mapping (marts.trade_flows_hs2017): a code without one
   would drop out of every HS2017 mart, or fail a mart's grain with a NULL code far from the cause. It fails with one
   row per version and code, naming the UNSD table that maps it. #}
{% test hs2017_mapped(model) %}
SELECT coalesce(hs_version_reported, 'unknown HS version') || ' code ' || hs6_reported
       || ' has no HS2017 mapping in marts.hs_concordance: '
       || CASE hs_version_reported
              WHEN 'HS2012' THEN 'the UNSD table HS2017toHS2012ConversionAndCorrelationTables.xlsx is not archived '
                                 || 'or lacks it (a live refresh fetches it from TRADEFLOW_UNSD_URL)'
              WHEN 'HS2022' THEN 'the UNSD table HS2022toHS2017ConversionAndCorrelationTables.xlsx is not archived '
                                 || 'or lacks it (a live refresh fetches it from TRADEFLOW_UNSD_URL)'
              ELSE 'tradeflow converts only HS2012 and HS2022 to HS2017' END AS problem,
       hs_version_reported, hs6_reported, string_agg(DISTINCT reporter, ', ' ORDER BY reporter) AS reporters,
       min(year) AS first_year, max(year) AS last_year, count(*) AS rows
FROM {{ model }}
WHERE NOT coalesce(is_concorded, false)
GROUP BY ALL
{% endtest %}
