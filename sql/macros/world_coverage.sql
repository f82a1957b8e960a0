{# Whether a year's world (a marts.world_coverage row, alias `c`) is seen enough to read a world-based indicator
   against: the reporters left out and those not yet reporting the year each carry at most var world_unseen_max of
   world trade. A missing row (no world that year) is judged elsewhere, as no world data. #}
{% macro world_seen(c) -%}
    (coalesce({{ c }}.left_out_share, 0) <= {{ var('world_unseen_max') }}
     AND coalesce({{ c }}.not_yet_reported_share, 0) <= {{ var('world_unseen_max') }})
{%- endmacro %}

{# Why not, in words: "USA (24.7 % of 2024's world exports) left out of the world on the HS2017 basis; DEU (…) not
   yet reported" (`what`: a SQL text literal, 'exports' or 'imports'). #}
{% macro world_unseen_reason(c, what) -%}
    concat_ws('; ',
        CASE WHEN coalesce({{ c }}.left_out_share, 0) > {{ var('world_unseen_max') }}
             THEN {{ c }}.left_out || ' (' || round(100 * {{ c }}.left_out_share, 1) || ' % of ' || {{ c }}.year
                  || '''s world ' || {{ what }} || ') left out of the world'
                  || CASE WHEN {{ c }}.flow = 'X' THEN ' on the HS2017 basis' ELSE '' END END,
        CASE WHEN coalesce({{ c }}.not_yet_reported_share, 0) > {{ var('world_unseen_max') }}
             THEN {{ c }}.not_yet_reported || ' (' || round(100 * {{ c }}.not_yet_reported_share, 1) || ' % of '
                  || ({{ c }}.year - 1) || '''s world ' || {{ what }} || ') not yet reported for ' || {{ c }}.year END)
    || ' (marts.world_coverage)'
{%- endmacro %}
