{# Build parameters, rendered as SQL literals. #}

{# A quoted SQL string literal. #}
{% macro sql_literal(text) -%}
    '{{ (text | string).replace("'", "''") }}'
{%- endmacro %}

{# The path of a reference seed shipped in src/tradeflow/reference, as a SQL string literal. #}
{% macro reference_csv(name) -%}
    {{ sql_literal(var('reference_dir') ~ '/' ~ name) }}
{%- endmacro %}

{# The CIF/FOB factors as a DuckDB DOUBLE[] literal; the first one is the default. #}
{% macro cif_fob_factors() -%}
    CAST([{{ var('cif_fob_factors') | join(', ') }}] AS DOUBLE[])
{%- endmacro %}

{# The default CIF/FOB factor: the first of cif_fob_factors. #}
{% macro default_cif_fob_factor() -%}
    CAST({{ var('cif_fob_factors')[0] }} AS DOUBLE)
{%- endmacro %}


