"""Batch layer: raw_matches -> cleaned_participants -> champion_stats / position_stats on Spark, published
to Cassandra per date, with the sensors that heal failed or stale dates."""
