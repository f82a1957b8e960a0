{# The CPFTA Phase-II preferential rate of a line in schedule year t (year − 2020), by staging
   category (src/tradeflow/fta/categories.yaml): immediate 0; linear: N equal annual cuts, the
   first in schedule year first_cut_offset, zero from year N − 1 + offset; partial: the base rate
   cut by `cut` (a share) from year 0; excluded: NULL (the line pays MFN). The one formula:
   marts.fta_tariff_lines uses it, tests/test_fta.py pins it down. #}
{% macro scheduled_rate(kind, base_rate, years, cut, first_cut_offset, t) -%}
    CASE {{ kind }}
        WHEN 'immediate' THEN 0.0
        WHEN 'linear' THEN round({{ base_rate }} * least(1.0, greatest(0.0, 1 - ({{ t }} + 1 - {{ first_cut_offset }}) / {{ years }})), 6)
        WHEN 'partial' THEN round({{ base_rate }} * (1 - {{ cut }}), 6)
    END
{%- endmacro %}
