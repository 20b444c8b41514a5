from lol_platform.sensors.kafka_ingest import IngestSettings, kafka_match_sensor

__all__ = ["IngestSettings", "kafka_match_sensor"]
