{# The grain test: every table declares the columns that identify one row (meta.grain in the
   schema files) and which of them are never NULL; one dbt test per table checks both, run as a
   blocking Dagster asset check. It fails with one row per offending key: a key that occurs more
   than once (NULLs compare equal, as in GROUP BY), or a key with a NULL where none may be. #}
{% test grain(model, columns, not_null=[]) %}
SELECT 'key occurs ' || count(*) || ' times' AS problem, {{ columns | join(', ') }}
FROM {{ model }}
GROUP BY ALL
HAVING count(*) > 1
{%- if not_null %}
UNION ALL
SELECT 'NULL in ' || concat_ws(', ', {% for c in not_null %}CASE WHEN {{ c }} IS NULL THEN '{{ c }}' END{% if not loop.last %}, {% endif %}{% endfor %}) AS problem,
       {{ columns | join(', ') }}
FROM {{ model }}
WHERE {% for c in not_null %}{{ c }} IS NULL{% if not loop.last %} OR {% endif %}{% endfor %}
GROUP BY ALL
{%- endif %}
{% endtest %}

{# Quality gates (staging.quality_gates): fails with the gates of the given kind that did not pass. #}
{% test gates_passed(model, blocking) %}
SELECT gate, failed_rows, description, sample
FROM {{ model }}
WHERE blocking = {{ 'true' if blocking else 'false' }} AND NOT passed
{% endtest %}
