{#- A view made with one `create or replace view`. dbt's default creates the view under a
    temporary name, renames the old one away and the new one in, commits and drops the old: a
    handful of statements and round trips for each of the twenty views a run builds. DuckDB
    replaces a view in one statement, atomically, so a reader sees the old view or the new. A
    table of the model's name (a model that was a table before) is dropped in the same
    transaction. -#}
{% materialization view, adapter='duckdb' %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if existing_relation is not none and not existing_relation.is_view %}
        {{ drop_relation_if_exists(existing_relation) }}
    {%- endif %}

    {% call statement('main') -%}
        {%- if config.get('contract').enforced %}
            {{ get_assert_columns_equivalent(sql) }}
        {%- endif %}
        create or replace view {{ target_relation }} as (
            {{ sql }}
        );
    {%- endcall %}

    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
