"""CPFTA Phase II: tariff schedules at national tariff-line level, their categories and rate paths."""
