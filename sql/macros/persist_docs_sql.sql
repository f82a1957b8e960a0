{# The model's docs as SQL (table and column descriptions of the schema files, as persist_docs writes
   them), sent in the materialization's own batch: used by lean_table and batch_incremental. #}
{% macro persist_docs_sql(relation) -%}
    {%- if config.get('persist_docs', {}).get('relation') and model.description %}
    COMMENT ON TABLE {{ relation }} IS {{ sql_literal(model.description) }};
    {%- endif %}
    {%- if config.get('persist_docs', {}).get('columns') %}
    {%- for name, column in model.columns.items() if column.description %}
    COMMENT ON COLUMN {{ relation }}.{{ adapter.quote(name) }} IS {{ sql_literal(column.description) }};
    {%- endfor %}
    {%- endif %}
{%- endmacro %}
