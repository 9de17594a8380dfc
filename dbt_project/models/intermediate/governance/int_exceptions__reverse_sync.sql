-- Reverse-sync writes that failed for good: the open rows (resolved_at null) of
-- reverse_sync.sync_dead_letters (written by reverse_sync/; absent until the first sync).
with dead_letters as (
    {{ relation_or_empty('reverse_sync', 'sync_dead_letters', [
        ('dead_letter_id', dbt.type_string()),
        ('correlation_id', dbt.type_string()),
        ('target_system', dbt.type_string()),
        ('target_connection', dbt.type_string()),
        ('target_object', dbt.type_string()),
        ('target_id', dbt.type_string()),
        ('canonical_id', dbt.type_string()),
        ('fields', dbt.type_string()),
        ('error', dbt.type_string()),
        ('http_status', 'integer'),
        ('attempts', 'integer'),
        ('last_failed_at', 'timestamp'),
        ('resolved_at', 'timestamp')]) }}
),

detected as (
    select
        'reverse_sync_dead_letter' as exception_kind,
        'high' as severity,
        target_object as object_type,
        dead_letter_id as object_key,
        canonical_id,
        target_system as source_system,
        target_connection as source_connection,
        target_id as source_id,
        target_system as owner_system,
        cast(null as {{ dbt.type_string() }}) as legal_entity_code,
        {{ dbt.concat([
            "'writing '", "coalesce(fields, '?')", "' to '", 'target_system', "'/'", 'target_connection',
            "' '", 'target_object', "' '", "coalesce(target_id, '(new)')", "' failed after '",
            "cast(coalesce(attempts, 0) as " ~ dbt.type_string() ~ ")", "' attempt(s)'",
            "case when http_status is null then '' else "
            ~ dbt.concat(["' (HTTP '", "cast(http_status as " ~ dbt.type_string() ~ ")", "')'"]) ~ " end",
            "': '", "coalesce(error, 'no error text')"]) }} as reason,
        cast(null as numeric(18, 2)) as amount_at_risk,
        correlation_id
    from dead_letters
    where resolved_at is null
)

{{ governance_detected('detected', 'reverse_sync') }}
