{# The target path of a goal at (possibly fractional) year tau, from its baseline v₀ (baseline_value in baseline_year t₀)
   to its target v_T (target in target_year T), s = (tau − t₀)/(T − t₀) (marts.goal_progress): geometric, v₀·(v_T/v₀)^s,
   a constant rate of change, when both are positive; linear, v₀ + (v_T − v₀)·s, when either is zero or negative
   (a metric such as the mirror gap, below zero, or one that changes sign: a ratio of the two means nothing there).
   g: the relation holding the goal's columns. #}
{% macro goal_path(g, tau) -%}
CASE WHEN {{ g }}.baseline_value > 0 AND {{ g }}.target > 0
     THEN {{ g }}.baseline_value * power({{ g }}.target / {{ g }}.baseline_value,
                                         ({{ tau }} - {{ g }}.baseline_year) / ({{ g }}.target_year - {{ g }}.baseline_year))
     ELSE {{ g }}.baseline_value + ({{ g }}.target - {{ g }}.baseline_value)
                                   * ({{ tau }} - {{ g }}.baseline_year) / ({{ g }}.target_year - {{ g }}.baseline_year) END
{%- endmacro %}
