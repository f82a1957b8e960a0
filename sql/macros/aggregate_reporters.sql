{# Reporters that are groups of other reporters, whose trade is already in their members' records: summed with them
   (world exports for RCA and complementarity, all reporters' imports for trade intensity) they count it twice.
   The list is typed here, from UN Comtrade's Reporters reference list (isGroup = true,
   comtradeapi.un.org/files/v1/app/reference/Reporters.json, recorded in shared/data/reference):
   97 European Union (Eurostat's extra-EU aggregate of its members' trade) and 975 ASEAN.
   The third isGroup reporter, 490 "Other Asia, nes", is Taiwan's own trade, reported by no member: it is kept. #}
{% macro aggregate_reporter_codes() -%}
97, 975
{%- endmacro %}
