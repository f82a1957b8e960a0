{# The agro and perishable classes of an HS6 code, from the code alone (no reference list needed, so a code whose
   list was not archived is still classed): agro = WTO Agreement on Agriculture Annex 1 (HS chapters 1–24 less
   fish and fish products, plus the listed headings and subheadings); perishable = tradeflow's definition: fresh,
   chilled or frozen meat, fish, fresh dairy, eggs, cut flowers, vegetables, fruit. marts.dim_hs (every version's
   codes) and marts.trade_flows_hs2017 (the HS2017 code of each row) carry them. #}
{% macro is_agro(code) -%}
    (length({{ code }}) = 6 AND (
        (substr({{ code }}, 1, 2) BETWEEN '01' AND '24'
            AND substr({{ code }}, 1, 2) <> '03'
            AND substr({{ code }}, 1, 4) NOT IN ('0508', '1604', '1605')
            AND {{ code }} NOT IN ('051191', '230120'))
        OR {{ code }} IN ('290543', '290544', '380910', '382460')
        OR substr({{ code }}, 1, 4) IN ('3301', '3501', '3502', '3503', '3504', '3505', '4101', '4102', '4103',
                                        '4301', '5001', '5002', '5003', '5101', '5102', '5103', '5201', '5202',
                                        '5203', '5301', '5302')))
{%- endmacro %}

{% macro is_perishable(code) -%}
    (length({{ code }}) = 6 AND (
        substr({{ code }}, 1, 4) BETWEEN '0201' AND '0209'
        OR substr({{ code }}, 1, 4) IN ('0301', '0302', '0303', '0304', '0306', '0307', '0308',
                                        '0401', '0403', '0405', '0406', '0407', '0603')
        OR substr({{ code }}, 1, 4) BETWEEN '0701' AND '0710'
        OR substr({{ code }}, 1, 4) BETWEEN '0803' AND '0811'))
{%- endmacro %}
