-- raw.comtrade_records: every UN Comtrade record as received, one row per record per archived body.
-- Columns keep the API's names and documented types; every vintage of every period is kept.
-- Parameters: $paths (archived bodies), $envelope, $required_fields / $optional_fields (name → type).
-- archive_files: one row per body (path, request_id, sha256, vintage, fetched_at, is_sample, query_scope).
WITH bodies AS (
    SELECT filename, unnest(data) AS j
    FROM read_json($paths, columns = $envelope, filename = true, format = 'auto')
)
SELECT
    f.request_id,
    f.sha256,
    CAST(f.vintage AS DATE) AS vintage,
    CAST(f.fetched_at AS TIMESTAMP) AS fetched_at,
    f.is_sample,
    f.query_scope,  -- 'reporter' (the reporter's own query) or 'all_reporters' (world exports query)
    unnest(json_transform_strict(b.j, $required_fields)),
    unnest(json_transform(b.j, $optional_fields))
FROM bodies AS b
JOIN archive_files AS f ON f.path = b.filename
