"""Agro green channel: the Khunjerab calendar, GACC market-access events, plan sector baskets and goals.

The curated YAML files here are configuration with a source for every entry; each is validated
on load and turned into a small table the SQL models join.
"""
