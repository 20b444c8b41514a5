"""raw_matches: the landed Kafka messages, one partition per match date, written by kafka_match_sensor."""

from dagster import AssetSpec

from lol_platform.partitions import daily_partitions

raw_matches = AssetSpec(
    key="raw_matches",
    group_name="ingestion",
    partitions_def=daily_partitions,
    description=(
        "Match-V5 participants landed from Kafka `lol_matches` by `kafka_match_sensor`: "
        "Parquet (snappy) under /data/lol_matches/YYYY/MM/DD/, 10 rows per match, with Kafka lineage."
    ),
    kinds={"kafka", "parquet", "hdfs"},
    metadata={"dagster/uri": "lake:/data/lol_matches/YYYY/MM/DD/"},
)
