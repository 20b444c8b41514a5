"""Speed layer: Kafka -> Elasticsearch, one document per participant, at-least-once with idempotent ids."""
