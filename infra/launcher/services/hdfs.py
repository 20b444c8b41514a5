"""HDFS 3.4: one NameNode and one DataNode JVM on 127.0.0.1, replication 1, WebHDFS on, no permissions."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

from lol_stack.process import JavaService, ServiceStartError, port_open

# A fixed cluster id: if the NameNode is ever re-formatted, an existing DataNode directory still
# matches it (a random id would make the DataNode refuse to start with "Incompatible clusterIDs").
CLUSTER_ID = "lol-stack"

LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
# Per-block and per-request chatter.
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.BlockStateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
"""


def _site_xml(props: dict[str, object]) -> str:
    body = "".join(f"  <property><name>{k}</name><value>{v}</value></property>\n" for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return json.load(resp)


class _HdfsService(JavaService):
    """What both daemons share: one generated conf dir (core/hdfs-site, log4j) put first on the classpath."""

    pom = "hdfs"

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def name_dir(self) -> Path:
        return self.config.stack_dir / "namenode" / "name"

    def extra_classpath(self) -> list[str]:
        # Hadoop's Configuration loads core-site.xml / hdfs-site.xml and log4j.properties from the classpath.
        return [str(self.conf_dir)]

    def hadoop_props(self) -> list[str]:
        # hadoop.home.dir only silences the "HADOOP_HOME is unset" warning (nothing is read from it).
        return [f"-Dhadoop.home.dir={self.home}", f"-Dhadoop.log.dir={self.home / 'logs'}"]

    def jvm_options(self) -> list[str]:
        # Each daemon gets half the per-service heap (an empty dev cluster needs far less); the serial
        # GC keeps the thread count and RSS down. Hadoop 3.4 predates Java 17's strong encapsulation:
        # WebHDFS's JAXB/Jersey reflects into java.lang (HTTP 500 on every call without the add-opens).
        return [
            f"-Xmx{self.config.heap_mb // 2}m",
            "-XX:+UseSerialGC",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            *self.hadoop_props(),
        ]

    def jmx(self, bean: str) -> dict:
        """One bean of the NameNode's JMX servlet, e.g. 'FSNamesystemState'."""
        c = self.config
        url = f"http://{c.host}:{c.namenode_http_port}/jmx?qry=Hadoop:service=NameNode,name={bean}"
        return _get_json(url)["beans"][0]

    def prepare(self, classpath: str) -> None:
        c = self.config
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        # HttpServer2 refuses to start unless webapps/<name> is on the classpath. The Maven jar leaves the
        # web UI out (the tarball ships it beside the jar); WebHDFS and /jmx are servlets and need none of it.
        for app in ("hdfs", "datanode", "static"):
            (self.conf_dir / "webapps" / app).mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "log4j.properties").write_text(LOG4J)
        (self.conf_dir / "core-site.xml").write_text(
            _site_xml(
                {
                    "fs.defaultFS": f"hdfs://{c.host}:{c.namenode_rpc_port}",
                    "hadoop.tmp.dir": self.home / "tmp",
                }
            )
        )
        (self.conf_dir / "hdfs-site.xml").write_text(
            _site_xml(
                {
                    "dfs.replication": 1,
                    # Any user (the Dagster process, Spark, a WebHDFS ?user.name=) may write anywhere.
                    "dfs.permissions.enabled": "false",
                    "dfs.webhdfs.enabled": "true",
                    "dfs.namenode.name.dir": f"file://{self.name_dir}",
                    "dfs.datanode.data.dir": f"file://{self.config.stack_dir / 'datanode' / 'data'}",
                    "dfs.namenode.rpc-address": f"{c.host}:{c.namenode_rpc_port}",
                    "dfs.namenode.http-address": f"{c.host}:{c.namenode_http_port}",
                    "dfs.datanode.address": f"{c.host}:{c.datanode_port}",
                    "dfs.datanode.http.address": f"{c.host}:{c.datanode_http_port}",
                    "dfs.datanode.ipc.address": f"{c.host}:{c.datanode_ipc_port}",
                    # WebHDFS redirects a client to the DataNode by its registered *hostname*; by default that
                    # is the machine's name, which may not resolve. Register as 127.0.0.1 instead.
                    "dfs.datanode.hostname": c.host,
                    "dfs.client.use.datanode.hostname": "true",
                    "dfs.datanode.use.datanode.hostname": "true",
                    # Else the NameNode rejects a DataNode whose IP does not reverse-resolve (/etc/hosts).
                    "dfs.namenode.datanode.registration.ip-hostname-check": "false",
                    # Leave safe mode as soon as the block threshold is met, not 30 s later.
                    "dfs.namenode.safemode.extension": 0,
                    # Fewer idle threads (and less RSS) than the production defaults.
                    "dfs.namenode.handler.count": 5,
                    "dfs.namenode.service.handler.count": 5,
                    "dfs.datanode.handler.count": 3,
                }
            )
        )


class NameNode(_HdfsService):
    name = "namenode"

    def address(self) -> str:
        c = self.config
        return f"hdfs://{c.host}:{c.namenode_rpc_port} (WebHDFS http://{c.host}:{c.namenode_http_port})"

    def ports(self) -> list[int]:
        return [self.config.namenode_rpc_port, self.config.namenode_http_port]

    def main_class(self) -> str:
        return "org.apache.hadoop.hdfs.server.namenode.NameNode"

    def prepare(self, classpath: str) -> None:
        super().prepare(classpath)
        if not (self.name_dir / "current" / "VERSION").exists():
            self._format(classpath)

    def _format(self, classpath: str) -> None:
        cp = os.pathsep.join([*self.extra_classpath(), classpath])
        cmd = [
            self.java(), "-Xmx256m", *self.hadoop_props(), "-cp", cp,
            self.main_class(), "-format", "-nonInteractive", "-clusterid", CLUSTER_ID,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.home)
        if proc.returncode != 0:
            raise ServiceStartError(f"namenode format failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")

    def is_ready(self) -> bool:
        c = self.config
        if not port_open(c.host, c.namenode_http_port):
            return False
        try:
            # Safemode is "" once the NameNode accepts writes; then check WebHDFS itself answers.
            if self.jmx("NameNodeInfo").get("Safemode", "x") != "":
                return False
            status = _get_json(f"http://{c.host}:{c.namenode_http_port}/webhdfs/v1/?op=GETFILESTATUS")
            return status["FileStatus"]["type"] == "DIRECTORY"
        except Exception:
            return False


class DataNode(_HdfsService):
    name = "datanode"

    def address(self) -> str:
        c = self.config
        return f"{c.host}:{c.datanode_port} (http {c.host}:{c.datanode_http_port})"

    def ports(self) -> list[int]:
        return [self.config.datanode_port, self.config.datanode_http_port, self.config.datanode_ipc_port]

    def main_class(self) -> str:
        return "org.apache.hadoop.hdfs.server.datanode.DataNode"

    def is_ready(self) -> bool:
        c = self.config
        if not port_open(c.host, c.datanode_http_port):
            return False
        try:
            # Ready = the NameNode counts it live *and* has its storage report (else the first write
            # fails with "could only be written to 0 of the 1 minReplication nodes").
            state = self.jmx("FSNamesystemState")
            return state["NumLiveDataNodes"] >= 1 and state["CapacityRemaining"] > 0
        except Exception:
            return False
