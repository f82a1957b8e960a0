SELECT m49, iso3, name, is_area, source FROM {{ ref('countries') }} ORDER BY m49
