-- The masking cutoff of run date D, one row: what the masking step records in its log.
select
    {{ run_date() }} as run_date,
    {{ masking_cutoff() }} as masking_cutoff,
    {{ var('retention_months') }} as retention_months
