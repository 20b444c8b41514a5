"""TODO: elasticsearch service (being written)."""
from lol_stack.process import JavaService

class Elasticsearch(JavaService):
    name = 'elasticsearch'
    pom = 'elasticsearch'
