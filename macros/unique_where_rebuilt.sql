{#- Generic test for an incremental table kept by delete+insert on `column_name`: no value the
    last build wrote (the rows stamped with the latest `built_at`) is held by more than one row.
    A build deletes the rows of the keys it writes, so a repeat can only involve a key it wrote:
    the check reads that build's keys and looks them up among the rows of earlier builds, rather
    than grouping every key of the history. After a first build or a full refresh every row
    has the latest stamp, and every key is checked. -#}
{% test unique_where_rebuilt(model, column_name, built_at='built_at') %}
    with

    last_build as (
        select max({{ built_at }}) as built_at from {{ model }}
    ),

    rebuilt as (
        select {{ column_name }} as checked_value
        from {{ model }}
        where
            {{ built_at }} = (select last_build.built_at from last_build)
            and {{ column_name }} is not null
    ),

    built_before as (
        select {{ column_name }} as checked_value
        from {{ model }}
        where {{ built_at }} < (select last_build.built_at from last_build)
    ),

    rows_of_rebuilt_values as (
        select rebuilt.checked_value from rebuilt
        union all
        select built_before.checked_value
        from built_before
        where built_before.checked_value in (select rebuilt.checked_value from rebuilt)
    )

    select
        checked_value as unique_field,
        count(*) as n_records
    from rows_of_rebuilt_values
    group by checked_value
    having count(*) > 1
{% endtest %}
