{# Grain tests: every table declares the columns that identify one row (meta.grain in the
   schema files) and dbt builds two tests from it, run as blocking Dagster asset checks. #}

{# Fails with the key values that occur more than once (NULLs compare equal, as in GROUP BY). #}
{% test unique_combination(model, columns) %}
SELECT {{ columns | join(', ') }}, count(*) AS n_rows
FROM {{ model }}
GROUP BY ALL
HAVING count(*) > 1
{% endtest %}

{# Fails with the rows where any of the columns is NULL (one query for all of them). #}
{% test not_null_columns(model, columns) %}
SELECT {{ columns | join(', ') }}
FROM {{ model }}
WHERE {% for c in columns %}{{ c }} IS NULL{% if not loop.last %} OR {% endif %}{% endfor %}
{% endtest %}

{# Quality gates (staging.quality_gates): fails with the gates of the given kind that did not pass. #}
{% test gates_passed(model, blocking) %}
SELECT gate, failed_rows, description, sample
FROM {{ model }}
WHERE blocking = {{ 'true' if blocking else 'false' }} AND NOT passed
{% endtest %}
