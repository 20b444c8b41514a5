"""The lake's lease (LakeResource.try_lease) on a local lake: one holder at a time, an expired lease is
broken, release frees it only for its holder. The HDFS variant runs in the ingestion sensor's tests."""

from __future__ import annotations

import time

from lol_platform.resources.lake import LakeResource


def test_one_holder_at_a_time_and_release_frees_it(tmp_path):
    lake = LakeResource(root=tmp_path.as_uri())
    assert lake.try_lease("data/x.lease", "a", ttl_s=60)
    assert not lake.try_lease("data/x.lease", "b", ttl_s=60)
    lake.release_lease("data/x.lease", "b")  # not b's: nothing happens
    assert not lake.try_lease("data/x.lease", "b", ttl_s=60)
    lake.release_lease("data/x.lease", "a")
    assert lake.try_lease("data/x.lease", "b", ttl_s=60)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["x.lease"]  # no temp file left


def test_an_expired_lease_is_broken(tmp_path):
    lake = LakeResource(root=tmp_path.as_uri())
    assert lake.try_lease("x.lease", "dead", ttl_s=0.05)
    time.sleep(0.1)
    assert lake.try_lease("x.lease", "next", ttl_s=60)
    assert not lake.try_lease("x.lease", "dead", ttl_s=60)
