"""TODO: hdfs service (being written)."""
from lol_stack.process import JavaService

class NameNode(JavaService):
    name = 'namenode'
    pom = 'hdfs'

class DataNode(JavaService):
    name = 'datanode'
    pom = 'hdfs'
