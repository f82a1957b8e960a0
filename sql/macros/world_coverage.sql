{# The reporter-years of a world_exports-shaped relation with both their HS6 products and their total: the reporters a
   year's world-based shares are taken over (a reporter with one but not the other would count on one side of the
   ratio only). Returns (reporter, year). #}
{% macro complete_world_reporters(relation) -%}
    SELECT reporter, year FROM {{ relation }}
    GROUP BY reporter, year HAVING bool_or(hs6 = 'TOTAL') AND bool_or(hs6 <> 'TOTAL')
{%- endmacro %}

{# Whether a year's world (a marts.world_coverage row, alias `c`) is seen enough to read a world-based indicator
   against: the reporters left out and those not yet reporting the year together carry at most var world_unseen_max
   of world trade, and the year could be judged (not_yet_reported_share not NULL). Never NULL: a missing row is not
   seen. #}
{% macro world_seen(c) -%}
    coalesce(coalesce({{ c }}.left_out_share, 0) + {{ c }}.not_yet_reported_share <= {{ var('world_unseen_max') }}, false)
{%- endmacro %}

{# Why not, in words, for a world not seen: "USA (24.7 % of 2024's world exports) left out of the world on the HS2017
   basis; DEU (…) not yet reported for 2024" — each part that carries any trade (`what`: a SQL text literal,
   'exports' or 'imports'). #}
{% macro world_unseen_reason(c, what) -%}
    concat_ws('; ',
        CASE WHEN coalesce({{ c }}.left_out_share, 0) > 0
             THEN {{ c }}.left_out || ' (' || round(100 * {{ c }}.left_out_share, 1) || ' % of ' || {{ c }}.year
                  || '''s world ' || {{ what }} || ') left out of the world'
                  || CASE WHEN {{ c }}.flow = 'X' THEN ' on the HS2017 basis' ELSE '' END END,
        CASE WHEN {{ c }}.year IS NOT NULL AND {{ c }}.not_yet_reported_share IS NULL
             THEN 'the world of ' || {{ c }}.year || ' cannot be judged complete: that needs the world years '
                  || ({{ c }}.year - 3) || '–' || ({{ c }}.year - 1) || ' loaded' END,
        CASE WHEN {{ c }}.not_yet_reported_share > 0
             THEN {{ c }}.not_yet_reported || ' (' || round(100 * {{ c }}.not_yet_reported_share, 1) || ' % of the '
                  || 'world ' || {{ what }} || ' of the years before, to ' || {{ c }}.judged_against
                  || ') not yet reported for ' || {{ c }}.year END)
    || ' (marts.world_coverage)'
{%- endmacro %}
