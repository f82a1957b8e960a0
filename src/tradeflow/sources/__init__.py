"""Clients for upstream providers (one small module per provider over a shared HTTP layer)."""
