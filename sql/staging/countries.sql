-- staging.countries: M49 code → ISO3 and name. Seed typed from the UN Comtrade reference
-- lists (files/v1/app/reference/Reporters.json and partnerAreas.json; Comtrade code 699 is
-- India's reporter code, 356 its M49 code). World is 0 / WLD.
SELECT CAST(m49 AS INTEGER) AS m49, iso3, name, CAST(is_area AS BOOLEAN) AS is_area
FROM read_csv($countries_csv, header = true, all_varchar = true)
ORDER BY m49
