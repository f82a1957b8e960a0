-- marts.dim_country: every country or area code tradeflow meets: M49 code, ISO3, name.
SELECT m49, iso3, name, is_area, source FROM staging.countries ORDER BY m49
