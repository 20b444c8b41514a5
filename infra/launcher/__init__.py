"""Docker-less launcher for the lol_platform service stack (Kafka, HDFS, Cassandra, Elasticsearch).

Each service runs as a real JVM process on 127.0.0.1 with a classpath that Maven resolves from
Maven Central into ~/.m2 (poms under infra/poms). State and logs live under one stack directory.
"""

from lol_stack.config import StackConfig
from lol_stack.stack import Stack

__all__ = ["Stack", "StackConfig"]
