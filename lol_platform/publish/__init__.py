"""Serving layer: publishing lake tables to Cassandra, idempotently per date."""
