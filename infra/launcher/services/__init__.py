"""The services of the stack, in start order."""

from lol_stack.services.cassandra import Cassandra
from lol_stack.services.elasticsearch import Elasticsearch
from lol_stack.services.hdfs import DataNode, NameNode
from lol_stack.services.kafka import Kafka

SERVICE_CLASSES = [Kafka, NameNode, DataNode, Cassandra, Elasticsearch]

__all__ = ["SERVICE_CLASSES", "Cassandra", "DataNode", "Elasticsearch", "Kafka", "NameNode"]
