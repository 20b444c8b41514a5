"""Freshness: when each table is late, evaluated by checks and a sensor (docs/architecture.md)."""
