"""Elasticsearch 7.17 through the 7.x Python client; the index template comes from infra/elasticsearch."""

from __future__ import annotations

import json
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from lol_platform.resources.errors import ServiceRejected, ServiceUnavailable

TEMPLATE_JSON = Path(__file__).resolve().parents[2] / "infra" / "elasticsearch" / "lol_matches_stream.template.json"


class ElasticsearchResource(ConfigurableResource):
    url: str = Field(default="http://127.0.0.1:9200", description="Elasticsearch HTTP endpoint")
    index: str = Field(default="lol_matches_stream", description="index the speed layer writes")
    template_path: str = Field(default=str(TEMPLATE_JSON), description="index template applied before use")
    request_timeout_s: float = Field(default=30.0, description="per-request timeout")
    # A secured cluster (https://, basic auth or an API key). Secrets come from the environment (EnvVar) only.
    # The local stack's Elasticsearch runs without security: its module is not published to Maven Central.
    username: str | None = Field(default=None, description="basic-auth user (LOL_ES_USERNAME)")
    password: str | None = Field(default=None, description="its password: set it through an EnvVar only (LOL_ES_PASSWORD)")
    api_key: str | None = Field(default=None, description="base64 'id:key' API key, instead of a user (LOL_ES_API_KEY)")
    ca_certs: str | None = Field(default=None, description="PEM CA the cluster's https certificate chains to (LOL_ES_CA_CERTS)")

    # A cluster of several nodes: how the index is split and copied, and how soon a document is searchable.
    shards: int = Field(default=1, description="primary shards of the index (more: more indexing throughput across nodes)")
    replicas: int = Field(default=0, description="replicas of each shard (1+ on a cluster: a node can fail)")
    refresh_interval: str = Field(default="1s", description="how soon an indexed document is searchable")

    _client = PrivateAttr(default=None)

    def client_options(self) -> dict:
        """The client's keyword arguments: timeouts, and the credentials and trust a secured cluster needs."""
        options: dict = {"timeout": self.request_timeout_s, "max_retries": 2, "retry_on_timeout": True}
        if self.api_key and self.username:
            raise ServiceRejected("Elasticsearch", self.url, "both an API key and a user are configured",
                                  "Set LOL_ES_API_KEY or LOL_ES_USERNAME/LOL_ES_PASSWORD, not both.")
        if self.api_key:
            options["api_key"] = self.api_key
        elif self.username or self.password:
            if not (self.username and self.password):
                missing = "LOL_ES_PASSWORD" if self.username else "LOL_ES_USERNAME"
                raise ServiceRejected("Elasticsearch", self.url, f"a basic-auth login needs a user and a password, and {missing} is not set",
                                      f"Set {missing}.")
            options["http_auth"] = (self.username, self.password)
        if self.url.startswith("https://"):
            options["verify_certs"] = True  # never off: an untrusted certificate is an error that names LOL_ES_CA_CERTS
            if self.ca_certs:
                options["ca_certs"] = self.ca_certs
        elif self.api_key or self.username:
            raise ServiceRejected("Elasticsearch", self.url, "credentials would travel in clear text over http://",
                                  "Point LOL_ES_URL at the cluster's https:// endpoint.")
        return options

    def client(self):
        if self._client is None:
            from elasticsearch import Elasticsearch

            self._client = Elasticsearch(self.url, serializer=_orjson_serializer(), **self.client_options())
        return self._client

    def health_check(self) -> dict:
        from elasticsearch import exceptions

        try:
            health = self.client().cluster.health(request_timeout=5)
        except (exceptions.AuthenticationException, exceptions.AuthorizationException) as exc:
            who = "the API key" if self.api_key else f"user {self.username!r}" if self.username else "an anonymous client"
            raise ServiceRejected("Elasticsearch", self.url, f"{who} was refused ({exc.status_code})",
                                  "Check LOL_ES_API_KEY, or LOL_ES_USERNAME and LOL_ES_PASSWORD.") from exc
        except exceptions.SSLError as exc:
            raise ServiceRejected("Elasticsearch", self.url, f"its TLS certificate is not trusted ({exc})",
                                  "Point LOL_ES_CA_CERTS at the CA that signed the cluster's certificate.") from exc
        except (exceptions.ConnectionError, exceptions.TransportError) as exc:
            raise ServiceUnavailable("Elasticsearch", self.url, exc, "LOL_ES_URL") from exc
        if health.get("status") not in ("green", "yellow"):
            raise ServiceUnavailable("Elasticsearch", self.url, f"cluster status {health.get('status')}", "LOL_ES_URL")
        return health

    def template(self) -> dict:
        """The index template of infra/elasticsearch with this resource's shards, replicas and refresh interval."""
        template = json.loads(Path(self.template_path).read_text())
        settings = template.setdefault("template", {}).setdefault("settings", {})
        settings.update({"number_of_shards": self.shards, "number_of_replicas": self.replicas, "refresh_interval": self.refresh_interval})
        return template

    def ensure_index(self) -> None:
        """Apply the template (idempotent) and create the index if missing."""
        self.health_check()
        es = self.client()
        # The template is named after, and matches exactly, the configured index.
        es.indices.put_index_template(name=self.index, body={**self.template(), "index_patterns": [self.index]})
        if not es.indices.exists(index=self.index):
            es.indices.create(index=self.index, ignore=400)  # 400: created concurrently


def _orjson_serializer():
    """The client's JSON through orjson: serializing bulk bodies with the standard library was a fifth of the
    stream indexer's CPU. Whatever orjson declines (a Decimal, a non-string key) goes the standard way."""
    import orjson
    from elasticsearch.serializer import JSONSerializer

    class OrjsonSerializer(JSONSerializer):
        def dumps(self, data):
            if isinstance(data, str):
                return data
            try:
                return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY).decode()
            except TypeError:  # orjson.JSONEncodeError is a TypeError
                return super().dumps(data)

        def loads(self, s):
            return orjson.loads(s)

    return OrjsonSerializer()
