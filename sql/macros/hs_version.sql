{# Comtrade's classification codes as HS versions: H0 = HS1992 … H6 = HS2022 (UN Comtrade reference lists
   H0.json … H6.json, comtradeapi.un.org/files/v1/app/reference). One list for every model that names versions. #}
{% macro hs_version(classification) -%}
{%- set versions = [('H0', 'HS1992'), ('H1', 'HS1996'), ('H2', 'HS2002'), ('H3', 'HS2007'),
                    ('H4', 'HS2012'), ('H5', 'HS2017'), ('H6', 'HS2022')] -%}
CASE {{ classification }}{% for code, version in versions %} WHEN '{{ code }}' THEN '{{ version }}'{% endfor %} END
{%- endmacro %}
