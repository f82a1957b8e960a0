-- GACC event study windows, for the agro report.
SELECT event_id, product, event_date, months_from_event, exports_usd, index_pre_mean_100, in_data
FROM marts.gacc_event_study ORDER BY event_id, months_from_event
