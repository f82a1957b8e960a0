{# A table kept incremental by batch (issue 14). A batch is the raw rows of one (reporterCode,
   freqCode, period) of raw.comtrade_records: UN Comtrade delivers and revises a period of a reporter
   as a whole, and the models using this materialization compute each output row from one batch's
   rows only (their windows and joins partition inside that key) plus small reference inputs.

   State (schema meta, two tables per model; docs/ARCHITECTURE.md, "Incremental by batch"):
   - meta."<schema>__<model>__batches": per batch (_b1.._bm) its fingerprint over the raw rows (n:
     count, h: sum of a row hash as HUGEINT: set-based, identical rows do not cancel; the hash of
     every column, or config `batch_row_hash` — the Comtrade models hash a record's body and manifest
     entry, 6 columns instead of ~45), its output key (_k1.._kn, below) and how many distinct keys its
     rows have (keys);
   - meta."<schema>__<model>__build": one row: the inputs digest (compiled SQL, this materialization's
     settings and version, the content of every other relation the model reads, and the
     `batch_source_state` column with the DuckDB version — the Comtrade loader's fingerprint), the mode of the
     last build (full | incremental), why, and how many batches it rebuilt.

   Output key: the model's config gives two expressions of one key, `batch_key_raw` over the raw
   columns and `batch_key_table` over the table's columns, that name the table rows a batch produces
   (comtrade_flows: reporter, freq, year, month); keys are compared with IS NOT DISTINCT FROM.
   The incremental path needs the mapping batch → key one-to-one (each batch one key, no key shared
   by two batches); otherwise the build is full.

   Full build (CREATE OR REPLACE, as lean_table) when: --full-refresh (tradeflow refresh --force),
   the table or the state is missing, the inputs digest changed, or the key is not one-to-one.
   Incremental build: changed batches = added, changed or gone since the state; DELETE the table's
   rows of their old and new keys, INSERT the model's rows computed from the changed batches only
   (the model marks the raw source's WHERE with batch_filter(), replaced here by a semi-join on
   them), check every inserted row's key is one of theirs, store the new fingerprints.
   Everything runs in the model's one transaction: a failed build leaves the old table and state.

   Grain: the keys of the rows a build wrote are added to meta."<schema>__<model>__unchecked" (a full
   build: one row all_rows = true), in the same transaction. The model's grain test (sql/macros/grain.sql,
   with `batch_key`) checks only the rows of those keys, and the on-run-end hook empties the table once
   that test has passed, so a key that failed stays to be checked again by the next build, changed or
   not. Every output key is one batch's, and the grain holds the batch key, so a key shared by two
   rows lies within the rows of one build.

   Row order: a full build stores the rows in the model's ORDER BY; an incremental one leaves the
   kept rows in place and appends the rebuilt batches' rows (in the model's ORDER BY) at the end,
   so the rows of one batch stay in the same relative order, but rows of different batches do
   not. Every model sums DOUBLE exactly anyway (exact_sum, sql/macros/exact.sql): the build runs on every core. #}

{%- macro batch_filter() -%}
  {#- In the raw source's WHERE of a batch_incremental model: all rows on a full build, the rows of
      the batches being rebuilt on an incremental one. -#}
  (TRUE /* tradeflow:batch_filter */)
{%- endmacro -%}

{%- macro _batch_key_match(prefix, exprs) -%}
  {#- the key columns <prefix>1..n equal the key expressions (NULL equals NULL) -#}
  {%- for e in exprs -%}{{ prefix }}{{ loop.index }} IS NOT DISTINCT FROM ({{ e }}){{ " AND " if not loop.last }}{%- endfor -%}
{%- endmacro -%}

{%- macro _batch_scalar(query) -%}
  {%- set res = run_query(query) -%}
  {{- return(res.columns[0].values()[0]) -}}
{%- endmacro -%}

{% materialization batch_incremental, adapter='duckdb' %}
  {%- set version = 'batch_incremental/2' -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set marker = '(TRUE /* tradeflow:batch_filter */)' -%}
  {%- set source_rel = config.get('batch_source', 'raw.comtrade_records') -%}
  {%- set batch_cols = config.get('batch_columns', ['reporterCode', 'freqCode', 'period']) -%}
  {%- set key_raw = config.require('batch_key_raw') -%}
  {%- set key_table = config.require('batch_key_table') -%}
  {%- if marker not in sql -%}
    {{ exceptions.raise_compiler_error("batch_incremental model " ~ this ~ " does not call batch_filter() in the WHERE of " ~ source_rel) }}
  {%- endif -%}
  {%- set meta_batches = api.Relation.create(database=this.database, schema='meta', identifier=this.schema ~ '__' ~ this.identifier ~ '__batches') -%}
  {%- set meta_build = api.Relation.create(database=this.database, schema='meta', identifier=this.schema ~ '__' ~ this.identifier ~ '__build') -%}
  {%- set tmp = '__tf_' ~ this.identifier -%}
  {#- a raw row's hash: every column by default; a model whose source rows are a function of a few columns
      (raw.comtrade_records: of the body and its manifest entry) may hash those, with `batch_source_state`
      ({schema, table, column}: what else its rows depend on, e.g. the loader's fingerprint), which goes into
      the inputs digest with the DuckDB version -#}
  {%- set row_hash = config.get('batch_row_hash', 'hash(*COLUMNS(*))') -%}
  {%- set source_state = config.get('batch_source_state', none) -%}
  {%- set key_cols -%}{% for e in key_raw %}_k{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}{%- endset -%}
  {%- if key_table | length != key_raw | length -%}
    {{ exceptions.raise_compiler_error("batch_incremental model " ~ this ~ ": batch_key_raw and batch_key_table differ in length") }}
  {%- endif -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {#- the inputs digest: compiled SQL, settings, and the content of every relation read except the batch source -#}
  {%- set other_inputs = [] -%}
  {%- for uid in model.depends_on.nodes -%}
    {%- set node = graph.nodes.get(uid) or graph.sources.get(uid) -%}
    {%- if node is not none and node.resource_type in ('model', 'seed', 'snapshot', 'source') -%}
      {%- set rel = node.relation_name -%}
      {%- if rel is not none and rel | replace('"', '') | lower != source_rel | lower
             and (rel | replace('"', '') | lower).split('.')[-2:] | join('.') != source_rel | lower -%}
        {%- do other_inputs.append(rel) -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set parts = ["SELECT " ~ sql_literal(local_md5(version ~ '|' ~ source_rel ~ '|' ~ tojson(batch_cols) ~ '|' ~ tojson(key_raw) ~ '|' ~ tojson(key_table) ~ '|' ~ row_hash ~ '|' ~ sql)) ~ " AS d"] -%}
  {%- if source_state is not none -%}
    {%- set state_rel = adapter.get_relation(database=this.database, schema=source_state.schema, identifier=source_state.table) -%}
    {%- if state_rel is none -%}
      {%- do parts.append("SELECT 'source state: none, duckdb ' || version()") -%}
    {%- else -%}
      {%- do parts.append("SELECT 'source state: ' || coalesce(string_agg(" ~ adapter.quote(source_state.column) ~ "::VARCHAR, '|' ORDER BY "
                          ~ adapter.quote(source_state.column) ~ "::VARCHAR), '') || ', duckdb ' || version() FROM " ~ state_rel) -%}
    {%- endif -%}
  {%- endif -%}
  {%- for rel in other_inputs | sort -%}
    {%- do parts.append("SELECT " ~ sql_literal(rel) ~ " || ':' || count(*) || ':' || coalesce(sum(hash(*COLUMNS(*))::HUGEINT), 0) FROM " ~ rel) -%}
  {%- endfor -%}
  {#- each part numbered: the digest joins them in this order on any number of threads -#}
  {%- set numbered = [] -%}
  {%- for part in parts -%}
    {%- do numbered.append("SELECT " ~ loop.index ~ " AS i, d FROM (" ~ part ~ ") AS p(d)") -%}
  {%- endfor -%}
  {%- set inputs_digest = _batch_scalar("SELECT md5(string_agg(d, '|' ORDER BY i)) FROM (" ~ numbered | join(" UNION ALL ") ~ ")") -%}

  {#- this build's batches: fingerprint and output key, one scan of the batch source -#}
  {% call statement('batch_fingerprints') -%}
    CREATE OR REPLACE TEMP TABLE {{ tmp }}_cur AS
    SELECT {% for c in batch_cols %}_b{{ loop.index }}, {% endfor %}sum(n)::BIGINT AS n, sum(h) AS h, count(*) AS keys
           {%- for e in key_raw %}, first(_k{{ loop.index }}) AS _k{{ loop.index }}{% endfor %}
    FROM (SELECT {% for c in batch_cols %}_b{{ loop.index }}, {% endfor %}{{ key_cols }}, count(*) AS n, sum(h) AS h
          FROM (SELECT {% for c in batch_cols %}{{ c }} AS _b{{ loop.index }}, {% endfor %}
                       {%- for e in key_raw %}({{ e }}) AS _k{{ loop.index }}, {% endfor %}
                       ({{ row_hash }})::HUGEINT AS h
                FROM {{ source_rel }})
          GROUP BY ALL)
    GROUP BY ALL
  {%- endcall %}

  {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
  {%- set have_state = adapter.get_relation(database=this.database, schema='meta', identifier=meta_build.identifier) is not none
                       and adapter.get_relation(database=this.database, schema='meta', identifier=meta_batches.identifier) is not none -%}
  {%- set reason = none -%}
  {%- if should_full_refresh() -%}{%- set reason = 'full refresh requested' -%}
  {%- elif existing is none or existing.type != 'table' -%}{%- set reason = 'no table' -%}
  {%- elif not have_state -%}{%- set reason = 'no batch state' -%}
  {%- else -%}
    {%- set was = _batch_scalar("SELECT any_value(inputs) FROM " ~ meta_build) -%}
    {%- if was != inputs_digest -%}{%- set reason = 'model SQL or a non-batch input changed' -%}{%- endif -%}
  {%- endif -%}
  {%- if reason is none -%}
    {#- this build's batches and the stored ones (whose keys the DELETE uses) must both map one-to-one -#}
    {%- set clashes = _batch_scalar("SELECT (SELECT count(*) FROM " ~ tmp ~ "_cur WHERE keys > 1)"
        ~ " + (SELECT count(*) FROM (SELECT " ~ key_cols ~ " FROM " ~ tmp ~ "_cur GROUP BY ALL HAVING count(*) > 1))"
        ~ " + (SELECT count(*) FROM " ~ meta_batches ~ " WHERE keys > 1)"
        ~ " + (SELECT count(*) FROM (SELECT " ~ key_cols ~ " FROM " ~ meta_batches ~ " GROUP BY ALL HAVING count(*) > 1))") -%}
    {%- if clashes > 0 -%}{%- set reason = 'batch key not one-to-one (' ~ clashes ~ ' clashes)' -%}{%- endif -%}
  {%- endif -%}

  {%- if reason is not none %}
    {%- set mode = 'full' -%}
    {% call statement('main') -%}
      CREATE OR REPLACE TABLE {{ target_relation }} AS (
        {{ sql | replace(marker, '(TRUE)') }}
      );
    {%- endcall %}
    {%- set changed = _batch_scalar("SELECT count(*) FROM " ~ tmp ~ "_cur") -%}
    {#- every row's key must be the key of a batch (else the key expressions do not match and a later
        incremental build would delete the wrong rows) -#}
    {%- set strays = _batch_scalar("SELECT count(*) FROM " ~ target_relation ~ " WHERE NOT EXISTS (SELECT 1 FROM " ~ tmp ~ "_cur WHERE " ~ _batch_key_match('_k', key_table) ~ ")") -%}
    {%- if strays > 0 -%}
      {{ exceptions.raise_compiler_error("batch_incremental " ~ this ~ ": " ~ strays ~ " row(s) whose batch_key_table is no batch's batch_key_raw; the model's key expressions do not match") }}
    {%- endif -%}
  {%- else %}
    {%- set mode = 'incremental' -%}
    {#- changed: batches added, changed or gone; their keys old and new are deleted, the present ones rebuilt -#}
    {% call statement('batch_changed') -%}
      CREATE OR REPLACE TEMP TABLE {{ tmp }}_changed AS
      SELECT {% for c in batch_cols %}coalesce(c._b{{ loop.index }}, s._b{{ loop.index }}) AS _b{{ loop.index }}, {% endfor %}
             c.n IS NOT NULL AS present, s.n IS NOT NULL AS was_present
             {%- for e in key_raw %}, c._k{{ loop.index }} AS _new{{ loop.index }}, s._k{{ loop.index }} AS _old{{ loop.index }}{% endfor %}
      FROM {{ tmp }}_cur AS c
      FULL JOIN {{ meta_batches }} AS s ON {% for c in batch_cols %}c._b{{ loop.index }} IS NOT DISTINCT FROM s._b{{ loop.index }}{{ " AND " if not loop.last }}{% endfor %}
      WHERE c.n IS DISTINCT FROM s.n OR c.h IS DISTINCT FROM s.h
    {%- endcall %}
    {%- set changed = _batch_scalar("SELECT count(*) FROM " ~ tmp ~ "_changed") -%}
    {%- if changed > 0 %}
      {%- set rebuild_filter -%}
        EXISTS (SELECT 1 FROM {{ tmp }}_changed AS __b WHERE __b.present
                AND {% for c in batch_cols %}__b._b{{ loop.index }} IS NOT DISTINCT FROM {{ c }}{{ " AND " if not loop.last }}{% endfor %})
      {%- endset -%}
      {% call statement('batch_rows') -%}
        CREATE OR REPLACE TEMP TABLE {{ tmp }}_rows AS (
          {{ sql | replace(marker, '(' ~ rebuild_filter ~ ')') }}
        )
      {%- endcall %}
      {%- set strays = _batch_scalar("SELECT count(*) FROM " ~ tmp ~ "_rows WHERE NOT EXISTS (SELECT 1 FROM " ~ tmp ~ "_changed WHERE present AND " ~ _batch_key_match('_new', key_table) ~ ")") -%}
      {%- if strays > 0 -%}
        {{ exceptions.raise_compiler_error("batch_incremental " ~ this ~ ": " ~ strays ~ " rebuilt row(s) whose batch_key_table is not the batch_key_raw of a rebuilt batch; the model's key expressions do not match") }}
      {%- endif %}
      {% call statement('main') -%}
        CREATE OR REPLACE TEMP TABLE {{ tmp }}_keys AS
          SELECT {% for e in key_raw %}_new{{ loop.index }} AS _k{{ loop.index }}{{ ", " if not loop.last }}{% endfor %} FROM {{ tmp }}_changed WHERE present
          UNION
          SELECT {% for e in key_raw %}_old{{ loop.index }}{{ ", " if not loop.last }}{% endfor %} FROM {{ tmp }}_changed WHERE was_present;
        DELETE FROM {{ target_relation }}
        WHERE EXISTS (SELECT 1 FROM {{ tmp }}_keys WHERE {{ _batch_key_match('_k', key_table) }});
        INSERT INTO {{ target_relation }} SELECT * FROM {{ tmp }}_rows;
        DROP TABLE {{ tmp }}_rows;
        DROP TABLE {{ tmp }}_keys;
      {%- endcall %}
    {%- else %}
      {% call statement('main') -%}
        SELECT 0
      {%- endcall %}
    {%- endif %}
  {%- endif %}

  {%- set meta_unchecked = api.Relation.create(database=this.database, schema='meta', identifier=this.schema ~ '__' ~ this.identifier ~ '__unchecked') -%}
  {%- set have_unchecked = adapter.get_relation(database=this.database, schema='meta', identifier=meta_unchecked.identifier) is not none -%}
  {% call statement('batch_state') -%}
    {{ persist_docs_sql(target_relation) }}
    CREATE SCHEMA IF NOT EXISTS meta;
    {%- if mode == 'full' or not have_unchecked %}
    CREATE OR REPLACE TABLE {{ meta_unchecked }} AS SELECT FALSE AS all_rows, {{ key_cols }} FROM {{ tmp }}_cur WHERE FALSE;
    INSERT INTO {{ meta_unchecked }} (all_rows) VALUES (TRUE);
    {%- elif changed > 0 %}
    INSERT INTO {{ meta_unchecked }} SELECT FALSE, {% for e in key_raw %}_new{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}
      FROM {{ tmp }}_changed WHERE present;
    {%- endif %}
    CREATE OR REPLACE TABLE {{ meta_batches }} AS
      SELECT {% for c in batch_cols %}_b{{ loop.index }}, {% endfor %}n, h, keys, {{ key_cols }} FROM {{ tmp }}_cur ORDER BY ALL;
    CREATE OR REPLACE TABLE {{ meta_build }} AS
      SELECT {{ sql_literal(inputs_digest) }} AS inputs, {{ sql_literal(mode) }} AS mode,
             {{ sql_literal(reason or 'changed batches only') }} AS reason, {{ changed }}::BIGINT AS changed_batches,
             current_timestamp AS built_at;
    DROP TABLE {{ tmp }}_cur;
    {%- if mode == 'incremental' %}
    DROP TABLE {{ tmp }}_changed;
    {%- endif %}
  {%- endcall %}
  {{ log("batch_incremental " ~ this ~ ": " ~ mode ~ " (" ~ (reason or 'changed batches only') ~ "), " ~ changed ~ " batch(es)", info=False) }}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
