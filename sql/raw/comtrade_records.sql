-- raw.comtrade_records: every UN Comtrade record as received, one row per record per archived body.
-- Columns keep the API's names and documented types; every vintage of every period is kept.
-- Each body is read once, straight into typed columns (data: a list of STRUCTs with the 47
-- documented fields; unknown fields are ignored, a value of the wrong type fails the build).
-- Parameters: $paths (distinct archived bodies); $files (one per manifest entry) and, aligned with them, $request_ids, $sha256s, $vintages,
-- $fetched_ats, $is_samples, $query_scopes; $envelope (count, data, error types);
-- $max_object_size (bytes: at least the largest body of this pass).
WITH archive_files AS (
    SELECT unnest($files) AS path, unnest($request_ids) AS request_id, unnest($sha256s) AS sha256,
           unnest($vintages) AS vintage, unnest($fetched_ats) AS fetched_at, unnest($is_samples) AS is_sample,
           unnest($query_scopes) AS query_scope
),
bodies AS (
    SELECT filename, unnest(data) AS r
    FROM read_json($paths, columns = $envelope, filename = true, format = 'auto',
                   maximum_object_size = $max_object_size)
)
SELECT
    f.request_id,
    f.sha256,
    CAST(f.vintage AS DATE) AS vintage,
    CAST(f.fetched_at AS TIMESTAMP) AS fetched_at,
    f.is_sample,
    f.query_scope,  -- 'reporter' (the reporter's own query) or 'all_reporters' (world exports query)
    unnest(b.r)
FROM bodies AS b
JOIN archive_files AS f ON f.path = b.filename
