"""Batch-layer ingestion: Match-V5 messages from Kafka to date-partitioned Parquet in the lake."""
