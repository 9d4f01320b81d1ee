{#- What SQL dialects spell differently, in one place. Each macro is dispatched by adapter
    (`adapter.dispatch`): a model calls `regex_full_match(...)`, and moving to another engine
    means adding that engine's implementation beside the DuckDB one (`snowflake__...`,
    `spark__...`), not rewriting models. Date arithmetic and hashing use dbt's own
    cross-database macros (`dbt.dateadd`, `dbt.date_trunc`, `dbt.hash`, `dbt.position`); the
    business rules' own macros (run_date, amsterdam_date, parse_timestamp, quarter_of) are
    dispatched where they are defined. -#}

{#- Whether `text` matches `pattern` (RE2 syntax) as a whole. -#}
{% macro regex_full_match(text, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'feedback_warehouse')(text, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_full_match(text, pattern) -%}
    regexp_full_match({{ text }}, {{ pattern }})
{%- endmacro %}

{#- `text` with every match of `pattern` (RE2 syntax) replaced by `replacement`. -#}
{% macro regex_replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'feedback_warehouse')(
        text, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__regex_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{#- The `value` of the row with the smallest `ordering` in a group (an aggregate). -#}
{% macro arg_min(value, ordering) -%}
    {{ return(adapter.dispatch('arg_min', 'feedback_warehouse')(value, ordering)) }}
{%- endmacro %}

{% macro duckdb__arg_min(value, ordering) -%}
    min_by({{ value }}, {{ ordering }})
{%- endmacro %}

{#- The `value` of the row with the largest `ordering` in a group (an aggregate). -#}
{% macro arg_max(value, ordering) -%}
    {{ return(adapter.dispatch('arg_max', 'feedback_warehouse')(value, ordering)) }}
{%- endmacro %}

{% macro duckdb__arg_max(value, ordering) -%}
    max_by({{ value }}, {{ ordering }})
{%- endmacro %}

{#- A row's columns as one JSON object: `columns` under their own names, and `renamed` as
    {key: expression}. -#}
{% macro row_as_json(columns, renamed={}) -%}
    {{ return(adapter.dispatch('row_as_json', 'feedback_warehouse')(columns, renamed)) }}
{%- endmacro %}

{% macro duckdb__row_as_json(columns, renamed={}) -%}
    {%- set fields = columns + renamed.items() | map('join', ' := ') | list -%}
    to_json(struct_pack({{ fields | join(', ') }}))
{%- endmacro %}

{#- The type of a JSON document. -#}
{% macro type_json() -%}
    {{ return(adapter.dispatch('type_json', 'feedback_warehouse')()) }}
{%- endmacro %}

{% macro duckdb__type_json() -%}
    json
{%- endmacro %}

{#- The date `days` days before the date `date_expr`. -#}
{% macro days_before(date_expr, days) -%}
    cast({{ dbt.dateadd('day', -days, date_expr) }} as date)
{%- endmacro %}

{#- Written between a CTE's name and its body (`name as {{ inlined() }} (...)`): the engine
    plans a CTE that is read more than once into each query that reads it, rather than computing
    it once whole into a buffer. DuckDB's buffer is a wall for the filters and the columns the
    reader wants, so inlining pays for a wide CTE of millions of rows (the invitation rules of a
    first run) and costs a little on small ones. Engines without the keyword decide
    themselves. -#}
{% macro inlined() -%}
    {{ return(adapter.dispatch('inlined', 'feedback_warehouse')()) }}
{%- endmacro %}

{% macro default__inlined() -%}{%- endmacro %}

{% macro duckdb__inlined() -%}
    not materialized
{%- endmacro %}
