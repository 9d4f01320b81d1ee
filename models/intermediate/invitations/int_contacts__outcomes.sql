-- The invitation rules for run date D, in one place: per contact whether it is invited (or due
-- to be) and, when not, why not. Reads the ledger for what was actually sent before. A contact
-- whose outcome was kept once decided (ledger.contact_outcomes) is not evaluated again: a day's
-- work covers the contacts still open, not the whole history.
with

kept_outcomes as {{ inlined() }} (
    select * from {{ ref('stg_ledger__contact_outcomes') }}
),

last_keep as (
    -- every contact the rules had seen when they last kept outcomes (delivered up to then) and
    -- dated before that date's catch-up bound was decided and kept. One row; NULLs when no
    -- keep recorded it. (Of two keeps with one bound, either one's delivery is right.)
    select
        max(catch_up_bound) as catch_up_bound,
        {{ arg_max('seen_through_ingestion_id', 'catch_up_bound') }} as seen_through_ingestion_id
    from kept_outcomes
),

contacts as (
    -- the contacts still open. Those the last keep covered are left out before the lookup in
    -- the kept outcomes, which then reads a few days of contacts rather than the history.
    select stg_contacts.*
    from {{ ref('stg_contacts__events') }} as stg_contacts
    cross join last_keep
    where
        not coalesce(
            stg_contacts.contact_date < last_keep.catch_up_bound
            and stg_contacts.ingestion_id <= last_keep.seen_through_ingestion_id,
            false
        )
        and not exists (
            select 1 from kept_outcomes
            where kept_outcomes.contact_event_id = stg_contacts.event_id
        )
),

questionnaires as (
    select * from {{ ref('kcm_questionnaires') }}
),

opt_outs as (
    select * from {{ ref('stg_customers__opt_outs') }}
),

ingestions as (
    select * from {{ ref('stg_landing__ingestions') }}
),

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
),

invitations_emailed as (
    select * from invitations
    where is_emailed
),

contacts_with_facts as (
    select
        contacts.event_id as contact_event_id,
        contacts.customer_id,
        {{ customer_key('contacts.customer_id') }} as customer_key,
        contacts.contact_type,
        contacts.occurred_at,
        contacts.contact_date,
        contacts.email,
        contacts.customer_name,
        questionnaires.questionnaire_id,
        questionnaires.survey_link,
        ingestions.ingested_for_run_date as loaded_for_run_date,
        {{ run_date() }} as run_date,
        -- a contact dated before this is not invited any more
        {{ days_before(run_date(), var('catch_up_days')) }} as catch_up_bound,
        questionnaires.questionnaire_id is not null as is_surveyed_type,
        contacts.has_valid_email,
        opt_outs.customer_key is not null as is_opted_out
    from contacts
    left join questionnaires on contacts.contact_type = questionnaires.contact_type
    left join opt_outs on {{ customer_key('contacts.customer_id') }} = opt_outs.customer_key
    left join ingestions on contacts.ingestion_id = ingestions.ingestion_id
),

own_invitations as (
    -- a contact's own invitation, once handed over, is never sent again, whatever came of it
    select
        contact_event_id,
        invitation_id,
        state,
        sent_on
    from invitations
    where is_settled
),

blocking_invitations as (
    -- the quiet period (the 28-day rule): any invitation e-mailed to the customer on a date
    -- >= C - (invitation_quiet_days - 1) blocks a contact on date C (an e-mail in the quiet
    -- period before it, or one that already followed it)
    select
        contacts_with_facts.contact_event_id,
        {{ arg_min('invitations_emailed.invitation_id', 'invitations_emailed.emailed_on') }}
            as blocking_invitation_id,
        min(invitations_emailed.emailed_on) as blocking_sent_on
    from contacts_with_facts
    inner join invitations_emailed
        on
            contacts_with_facts.customer_id = invitations_emailed.customer_id
            and contacts_with_facts.contact_event_id != invitations_emailed.contact_event_id
            and invitations_emailed.emailed_on
            > {{ days_before('contacts_with_facts.contact_date', var('invitation_quiet_days')) }}
    group by contacts_with_facts.contact_event_id
),

classified as {{ inlined() }} (
    select
        contacts_with_facts.*,
        own_invitations.invitation_id as own_invitation_id,
        own_invitations.sent_on as invitation_sent_on,
        blocking_invitations.blocking_invitation_id,
        blocking_invitations.blocking_sent_on,
        case
            when own_invitations.state = 'sent' then 'invited'
            when own_invitations.state = 'failed' then 'invitation_failed'
            when own_invitations.state is not null then 'delivery_uncertain'
            -- a run sees the contacts before its own date, 00:00 Amsterdam
            when contacts_with_facts.contact_date >= contacts_with_facts.run_date
                then 'awaiting_next_run'
            when not contacts_with_facts.is_surveyed_type then 'not_surveyed_type'
            when not contacts_with_facts.has_valid_email then 'no_valid_email'
            when contacts_with_facts.is_opted_out then 'opted_out'
            when blocking_invitations.blocking_sent_on <= contacts_with_facts.contact_date
                then 'emailed_within_quiet_period'
            -- the run that sent it saw this contact too, and chose a more recent one
            when blocking_invitations.blocking_sent_on > contacts_with_facts.contact_date
                and contacts_with_facts.loaded_for_run_date
                <= blocking_invitations.blocking_sent_on
                and contacts_with_facts.contact_date
                >= {{ days_before('blocking_invitations.blocking_sent_on', var('catch_up_days')) }}
                then 'later_contact_chosen'
            when blocking_invitations.blocking_sent_on > contacts_with_facts.contact_date
                then 'emailed_after_contact'
            when contacts_with_facts.contact_date < contacts_with_facts.catch_up_bound
                then 'past_catch_up_bound'
            else 'eligible'
        end as rule_outcome
    from contacts_with_facts
    left join own_invitations
        on contacts_with_facts.contact_event_id = own_invitations.contact_event_id
    left join blocking_invitations
        on contacts_with_facts.contact_event_id = blocking_invitations.contact_event_id
),

eligible_ranks as (
    -- at most one invitation per customer and run: the most recent eligible contact
    select
        contact_event_id,
        row_number() over (
            partition by customer_id
            order by occurred_at desc, contact_event_id desc
        ) as eligible_rank
    from classified
    where rule_outcome = 'eligible'
),

ranked as (
    select
        classified.*,
        eligible_ranks.eligible_rank
    from classified
    left join eligible_ranks
        on classified.contact_event_id = eligible_ranks.contact_event_id
),

final as (
    select
        contact_event_id,
        customer_id,
        customer_key,
        contact_type,
        occurred_at,
        contact_date,
        run_date,
        case
            when eligible_rank = 1 then 'due'
            when eligible_rank > 1 then 'later_contact_chosen'
            else rule_outcome
        end as outcome,
        coalesce(
            own_invitation_id,
            case when eligible_rank = 1 then {{ invitation_id('contact_event_id') }} end
        ) as invitation_id,
        invitation_sent_on,
        blocking_invitation_id,
        blocking_sent_on,
        -- past the catch-up bound nothing more can happen to it: the outcome is final
        contact_date < catch_up_bound as is_decided,
        catch_up_bound,
        questionnaire_id,
        survey_link,
        email,
        customer_name
    from ranked
)

select * from final
