SELECT CAST(event_date AS DATE) AS event_date, marker, description, source_url
FROM (VALUES
    ('2018-04-30', 'ede', 'China–Pakistan electronic exchange of certificate-of-origin data goes live',
     'https://www.pakistantoday.com.pk/2018/03/03/to-curb-under-invoicing-of-imports-pakistan-china-to-start-digital-trade-data-exchange/'),
    ('2019-12-01', 'cpfta_phase2_in_force', 'CPFTA Phase II protocol enters into force',
     'https://nation.com.pk/09-Nov-2019/pak-china-trade-agreement-to-be-enforced-next-month'),
    ('2020-01-01', 'cpfta_phase2_cuts', 'CPFTA Phase II tariff cuts applied (schedule year 0)',
     'https://sangrupo.com/officially-implemented-on-january-1-2020-the-zero-tariff-range-between-china-and-pakistan-will-increase-to-75')
) AS t(event_date, marker, description, source_url)
UNION ALL
SELECT DATE {{ sql_literal(var('khunjerab_year_round')) }}, 'khunjerab_year_round', 'Khunjerab–Sost crossing operates year-round',
       {{ sql_literal(var('khunjerab_year_round_source')) }}
ORDER BY event_date
