-- marts.fta_utilisation: utilisation-ready table for imports coded by customs regime, empty
-- until such data exist (FBR/PSW for Pakistan, GACC for China do not publish them). Once
-- filled: preference utilisation rate PUR = 100 × imports that received the CPFTA preference ÷
-- imports eligible for it (lines whose MFN > 0 and preferential < MFN), per UNCTAD (GSP
-- utilisation methodology); MFN-free lines are excluded from eligible imports.
SELECT CAST(NULL AS VARCHAR) AS importer, CAST(NULL AS VARCHAR) AS partner, CAST(NULL AS INTEGER) AS year,
       CAST(NULL AS VARCHAR) AS hs6, CAST(NULL AS VARCHAR) AS regime,
       CAST(NULL AS DOUBLE) AS imports_usd, CAST(NULL AS DOUBLE) AS eligible_imports_usd,
       CAST(NULL AS DOUBLE) AS utilisation_rate_pct
WHERE false
