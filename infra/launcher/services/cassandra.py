"""TODO: cassandra service (being written)."""
from lol_stack.process import JavaService

class Cassandra(JavaService):
    name = 'cassandra'
    pom = 'cassandra'
