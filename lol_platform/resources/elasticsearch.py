"""Elasticsearch 7.17 through the 7.x Python client; the index template comes from infra/elasticsearch."""

from __future__ import annotations

import json
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from lol_platform.resources.errors import ServiceUnavailable

TEMPLATE_JSON = Path(__file__).resolve().parents[2] / "infra" / "elasticsearch" / "lol_matches_stream.template.json"


class ElasticsearchResource(ConfigurableResource):
    url: str = Field(default="http://127.0.0.1:9200", description="Elasticsearch HTTP endpoint")
    index: str = Field(default="lol_matches_stream", description="index the speed layer writes")
    template_path: str = Field(default=str(TEMPLATE_JSON), description="index template applied before use")
    request_timeout_s: float = Field(default=30.0, description="per-request timeout")

    _client = PrivateAttr(default=None)

    def client(self):
        if self._client is None:
            from elasticsearch import Elasticsearch

            self._client = Elasticsearch(self.url, timeout=self.request_timeout_s, max_retries=2, retry_on_timeout=True)
        return self._client

    def health_check(self) -> dict:
        from elasticsearch import exceptions

        try:
            health = self.client().cluster.health(request_timeout=5)
        except (exceptions.ConnectionError, exceptions.TransportError) as exc:
            raise ServiceUnavailable("Elasticsearch", self.url, exc, "LOL_ES_URL") from exc
        if health.get("status") not in ("green", "yellow"):
            raise ServiceUnavailable("Elasticsearch", self.url, f"cluster status {health.get('status')}", "LOL_ES_URL")
        return health

    def template(self) -> dict:
        return json.loads(Path(self.template_path).read_text())

    def ensure_index(self) -> None:
        """Apply the template (idempotent) and create the index if missing."""
        self.health_check()
        es = self.client()
        # The template is named after, and matches exactly, the configured index.
        es.indices.put_index_template(name=self.index, body={**self.template(), "index_patterns": [self.index]})
        if not es.indices.exists(index=self.index):
            es.indices.create(index=self.index, ignore=400)  # 400: created concurrently
