{# The HS codes a curated file names (baskets.yaml prefixes, gacc_events.yaml lines) are HS2017 codes: a code no
   HS2017 code starts with (842481 is HS2012's; a typo) matches no trade, so its basket or event reads low or empty
   with no error. Checked against UN Comtrade's HS2017 (H5) list when a live run archived the whole of it (HS2017
   has 5,387 subheadings; the check needs at least 5,000): the sample's list, or a short list, holds only some codes,
   and there is nothing to check against. One row per unknown code. #}
{% test in_hs2017_list(model, table, column, file) %}
WITH h5 AS (SELECT code FROM {{ source('raw', 'reference_hs') }} WHERE classification = 'H5' AND source = 'comtrade'),
whole AS (SELECT count(*) FILTER (WHERE length(code) = 6) >= 5000 AS ok FROM h5)
SELECT DISTINCT c.{{ column }} AS code,
       '{{ file }}: ' || c.{{ column }} || ' is no HS2017 code nor the start of one (UN Comtrade H5 list)' AS problem
FROM {{ source('raw', table) }} AS c, whole
WHERE whole.ok
  AND NOT EXISTS (SELECT 1 FROM h5 WHERE starts_with(h5.code, c.{{ column }}))
{% endtest %}
