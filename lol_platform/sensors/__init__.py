from lol_platform.sensors.kafka_match_sensor import IngestSettings, kafka_match_sensor

__all__ = ["IngestSettings", "kafka_match_sensor"]
