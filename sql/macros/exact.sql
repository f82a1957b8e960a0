{# Exact sums, so a model's result cannot depend on the order its rows are added in.

Every model runs on every core (profiles.yml: DuckDB threads = tradeflow's cores), and a parallel
sum of DOUBLEs adds its partial sums in whatever order the threads finish: float addition is not
associative, so two builds of one archive could differ in the last bit. These macros round each
value to `scale` decimals (a millionth of a dollar by default) as DECIMAL(38, scale) and add
those exactly (a 128-bit integer sum), then return DOUBLE: the same bits on any number of threads
and in any row order. A value too large for DECIMAL(38, scale) (10^32 at scale 6) fails the build
with DuckDB's conversion error, never a rounded number.

  {{ exact_sum('t.value_usd') }}                                   sum(t.value_usd)
  {{ exact_sum('t.value_usd', filter='h.is_agro') }}               sum(t.value_usd) FILTER (WHERE h.is_agro)
  {{ exact_sum('v', over='(PARTITION BY year)') }}                  sum(v) OVER (PARTITION BY year)
  {{ exact_avg('rate_pct') }}                                       avg(rate_pct)
  {{ exact_sum('share * share', scale=12) }}                        shares: 10^-12, up to 10^26
#}

{% macro _exact_filter(filter) -%}
  {%- if filter is not none %} FILTER (WHERE {{ filter }}){% endif -%}
{%- endmacro %}

{% macro _exact_over(over) -%}
  {%- if over is not none %} OVER {{ over }}{% endif -%}
{%- endmacro %}

{% macro exact_sum(expr, filter=none, over=none, scale=6) -%}
  CAST(sum(CAST({{ expr }} AS DECIMAL(38, {{ scale }}))){{ _exact_filter(filter) }}{{ _exact_over(over) }} AS DOUBLE)
{%- endmacro %}

{# avg: the exact sum over the count of non-NULL values (NULL when there are none, as avg) #}
{% macro exact_avg(expr, filter=none, over=none, scale=6) -%}
  CAST(sum(CAST({{ expr }} AS DECIMAL(38, {{ scale }}))){{ _exact_filter(filter) }}{{ _exact_over(over) }}
       / nullif(count({{ expr }}){{ _exact_filter(filter) }}{{ _exact_over(over) }}, 0) AS DOUBLE)
{%- endmacro %}
