"""Elasticsearch 7.17: one real single-node cluster on 127.0.0.1, started from the Maven Central jars.

Elastic publishes no runnable distribution on Maven Central, only the server jar and the "-client" jars of a
few modules. infra/elasticsearch/launcher/EmbeddedElasticsearch.java (compiled here, into the stack dir)
starts the real org.elasticsearch.node.Node with those modules as classpath plugins (Netty4 for HTTP and
transport, mapper-extras, reindex, lang-mustache, parent-join, percolator, aggs-matrix-stats, rank-eval).

Not available this way (no 7.17 jars on Central), verified against the running node:
- lang-painless: no scripts (update/script_fields/runtime fields/script_score); mustache search templates work.
- analysis-common: only the standard/simple/whitespace/stop/keyword analyzers, the standard tokenizer and the
  lowercase/stop/shingle token filters exist (no language analyzers, ngram, asciifolding, synonym, stemmer...).
- ingest-common: ingest pipelines have no processors (set, rename, date...).
- x-pack: no data streams, ILM, SQL, async search, security, _xpack/_license, and no wildcard,
  constant_keyword, dense_vector, version, histogram, unsigned_long, geo_shape/shape field types.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

from lol_stack.config import INFRA_DIR
from lol_stack.process import JavaService, ServiceStartError

LAUNCHER_SRC = INFRA_DIR / "elasticsearch" / "launcher" / "EmbeddedElasticsearch.java"
LAUNCHER_CLASS = "EmbeddedElasticsearch"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: ignore *_proxy env vars

# Console-only logging (start() sends stdout to logs/elasticsearch.out). The header_warning appender turns
# deprecation log lines into HTTP "Warning" response headers, as a real distribution does.
LOG4J2_PROPERTIES = """\
status = error

appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n

rootLogger.level = info
rootLogger.appenderRef.console.ref = console

appender.header_warning.type = HeaderWarningAppender
appender.header_warning.name = header_warning

logger.deprecation.name = org.elasticsearch.deprecation
logger.deprecation.level = WARN
logger.deprecation.appenderRef.console.ref = console
logger.deprecation.appenderRef.header_warning.ref = header_warning
logger.deprecation.additivity = false
"""


class Elasticsearch(JavaService):
    name = "elasticsearch"
    pom = "elasticsearch"

    @property
    def classes_dir(self):
        return self.home / "classes"

    @property
    def config_dir(self):
        return self.home / "config"

    def address(self) -> str:
        return f"http://{self.config.host}:{self.config.elasticsearch_port}"

    def ports(self) -> list[int]:
        return [self.config.elasticsearch_port, self.config.elasticsearch_transport_port]

    def main_class(self) -> str:
        return LAUNCHER_CLASS

    def extra_classpath(self) -> list[str]:
        return [str(self.classes_dir)]

    def args(self) -> list[str]:
        c = self.config
        return [
            "-Ecluster.name=lol-stack",
            "-Enode.name=lol-es-1",
            f"-Enetwork.host={c.host}",
            f"-Ehttp.port={c.elasticsearch_port}",
            f"-Etransport.port={c.elasticsearch_transport_port}",
            f"-Epath.data={self.home / 'data'}",
            f"-Epath.logs={self.home / 'logs'}",
            f"-Epath.repo={self.home / 'snapshots'}",
        ]

    def jvm_options(self) -> list[str]:
        tmp = self.home / "tmp"
        return [
            *super().jvm_options(),
            f"-Des.path.home={self.home}",
            # Build.CURRENT reads these; a real tar distribution sets them (shown in GET / as build_flavor/type).
            "-Des.distribution.flavor=default",
            "-Des.distribution.type=tar",
            # What ES 7.17's launcher (SystemJvmOptions + jvm.options) passes on JDK 9+, minus AlwaysPreTouch
            # (it would make the whole heap resident at start).
            "-XX:+UseG1GC",
            "-Xss1m",
            "-Djava.awt.headless=true",
            "-Dfile.encoding=UTF-8",
            "-Djna.nosys=true",
            "-XX:-OmitStackTraceInFastThrow",
            "-XX:+ShowCodeDetailsInExceptionMessages",
            "-Des.networkaddress.cache.ttl=60",
            "-Des.networkaddress.cache.negative.ttl=10",
            "-Dio.netty.noUnsafe=true",
            "-Dio.netty.noKeySetOptimization=true",
            "-Dio.netty.recycler.maxCapacityPerThread=0",
            "-Dio.netty.allocator.numDirectArenas=0",
            "-Dlog4j.shutdownHookEnabled=false",  # the launcher's shutdown hook stops log4j after the node
            "-Dlog4j2.disable.jmx=true",
            "-Dlog4j2.formatMsgNoLookups=true",
            # ES 7 date formats expect the COMPAT locale data (plus its own ISO calendar SPI provider).
            "-Djava.locale.providers=SPI,COMPAT",
            f"-Djava.io.tmpdir={tmp}",
            "-XX:+ExitOnOutOfMemoryError",
        ]

    def prepare(self, classpath: str) -> None:
        for sub in ("config", "data", "logs", "tmp", "plugins", "modules", "snapshots"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        log4j = self.config_dir / "log4j2.properties"
        if not log4j.exists() or log4j.read_text() != LOG4J2_PROPERTIES:
            log4j.write_text(LOG4J2_PROPERTIES)
        self._compile_launcher(classpath)

    def _compile_launcher(self, classpath: str) -> None:
        """javac the launcher into <home>/classes, only when the source is newer than the class."""
        target = self.classes_dir / f"{LAUNCHER_CLASS}.class"
        if target.exists() and target.stat().st_mtime >= LAUNCHER_SRC.stat().st_mtime:
            return
        sibling = Path(self.java()).with_name("javac")  # same JDK as the java that runs the node
        javac = str(sibling) if sibling.exists() else shutil.which("javac")
        if javac is None:
            raise ServiceStartError("`javac` is not on PATH: a JDK (not only a JRE) is needed to build the ES launcher")
        self.classes_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [javac, "-nowarn", "-d", str(self.classes_dir), "-cp", classpath, str(LAUNCHER_SRC)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise ServiceStartError(f"javac {LAUNCHER_SRC} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    def cluster_health(self, timeout: float = 2.0) -> dict | None:
        try:
            with _NO_PROXY.open(f"{self.address()}/_cluster/health", timeout=timeout) as resp:
                return json.loads(resp.read())
        except (OSError, ValueError):
            return None

    def is_ready(self) -> bool:
        health = self.cluster_health()
        return health is not None and health.get("status") in ("green", "yellow")
