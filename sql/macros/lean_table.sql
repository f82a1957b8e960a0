{# The table materialization of the SQL models: one CREATE OR REPLACE TABLE and the model's docs
   (table and column descriptions of the schema files, as persist_docs writes them), sent as one
   batch inside the model's transaction — instead of dbt-duckdb's create-tmp / rename / drop
   sequence and one COMMENT per column, which cost ~50 ms a model. A failed build rolls back and
   leaves the previous table whole. #}
{% materialization lean_table, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% call statement('main') -%}
    CREATE OR REPLACE TABLE {{ target_relation }} AS (
      {{ sql }}
    );
    {{ persist_docs_sql(target_relation) }}
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
