SELECT month_start, year(month_start) AS year, month(month_start) AS month, regime, status, note, source_url
FROM {{ source('raw', 'khunjerab_months') }} ORDER BY month_start
