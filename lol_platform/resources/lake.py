"""The lake: one root URI for Spark (`hdfs://`, `file://` or `s3://`) and a pyarrow filesystem for Python.

Python reaches HDFS through WebHDFS (pyarrow's native HDFS client needs libhdfs.so, which is not
installed); Spark reads and writes the same files through the `hdfs://` URI.
"""

from __future__ import annotations

import getpass
import json
import os
import posixpath
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from lol_core import faults
from lol_core.lake_paths import PartitionedTable
from lol_platform.resources.errors import ServiceRejected, ServiceUnavailable

DEFAULT_LAKE_ROOT = (Path.home() / ".lol_platform" / "lake").as_uri()


class LakeResource(ConfigurableResource):
    root: str = Field(default=DEFAULT_LAKE_ROOT, description="lake root URI: hdfs://host:port[/path], file:///path or s3://bucket[/path]")
    webhdfs_port: int = Field(default=9870, description="NameNode HTTP port serving WebHDFS (hdfs:// roots)")
    hdfs_user: str = Field(default_factory=getpass.getuser, description="user name sent to WebHDFS")
    # A secured HDFS: WebHDFS over https (the NameNode's CA) and a delegation token instead of a plain user name.
    webhdfs_https: bool = Field(default=False, description="reach WebHDFS over https (dfs.http.policy HTTPS_ONLY)")
    webhdfs_ca_file: str | None = Field(default=None, description="PEM CA the NameNode's and DataNodes' https certificates chain to")
    hdfs_delegation_token: str | None = Field(default=None, description="WebHDFS delegation token: set it through an EnvVar only (LOL_HDFS_DELEGATION_TOKEN)")
    hdfs_replication: int = Field(default=0, description="replicas of each file written from Python (0: the cluster's dfs.replication)")
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (s3:// roots)")
    s3_region: str | None = Field(default=None, description="S3 region (s3:// roots)")

    _fs: pafs.FileSystem | None = PrivateAttr(default=None)
    _webhdfs: object = PrivateAttr(default=None)

    # -- addressing ---------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return urlparse(self.root).scheme or "file"

    def _base_path(self) -> str:
        parsed = urlparse(self.root)
        if self.scheme == "s3":
            return (parsed.netloc + parsed.path).rstrip("/")
        return parsed.path.rstrip("/") or "/"

    def path(self, *parts: str) -> str:
        """A filesystem path (for `filesystem()`) under the root."""
        return posixpath.join(self._base_path(), *parts)

    def uri(self, *parts: str) -> str:
        """A URI under the root, as Spark wants it."""
        parsed = urlparse(self.root)
        if self.scheme == "file":
            return "file://" + self.path(*parts)
        return f"{parsed.scheme}://{parsed.netloc}{posixpath.join(parsed.path or '/', *parts)}"

    def table_uri(self, table: PartitionedTable) -> str:
        """Where a Spark-written table of the lake layout (lol_core.lake_paths) lives under this root."""
        return self.uri(table.path)

    def address(self) -> str:
        if self.scheme == "hdfs":
            return f"{self.root} (WebHDFS {self.webhdfs_url()})"
        return self.root

    # -- filesystem ---------------------------------------------------------------------------
    def filesystem(self) -> pafs.FileSystem:
        if self._fs is None:
            self._fs = self._make_filesystem()
        return self._fs

    def _make_filesystem(self) -> pafs.FileSystem:
        if self.scheme == "file":
            return pafs.LocalFileSystem()
        if self.scheme == "hdfs":
            from fsspec.implementations.webhdfs import WebHDFS

            webhdfs = WebHDFS(host=urlparse(self.root).hostname, port=self.webhdfs_port, **self.webhdfs_options())
            # fsspec sends WebHDFS requests without a timeout: a hung NameNode or DataNode would hang the
            # sensor tick forever. Every request gets one (connect, read).
            webhdfs.session = _TimeoutSession(webhdfs.session, WEBHDFS_TIMEOUT_S)
            self._webhdfs = webhdfs
            return pafs.PyFileSystem(pafs.FSSpecHandler(webhdfs))
        if self.scheme == "s3":
            return pafs.S3FileSystem(endpoint_override=self.s3_endpoint_url, region=self.s3_region)
        raise ValueError(f"unsupported lake root {self.root!r}: use hdfs://, file:// or s3:// (LOL_LAKE_ROOT)")

    def webhdfs_url(self) -> str:
        return f"{'https' if self.webhdfs_https else 'http'}://{urlparse(self.root).hostname}:{self.webhdfs_port}/webhdfs/v1"

    def webhdfs_options(self) -> dict:
        """fsspec WebHDFS's identity and trust: a delegation token replaces the user name (the token names it)."""
        options: dict = {"use_https": self.webhdfs_https, "session_verify": self.webhdfs_ca_file or True}
        if self.hdfs_delegation_token:
            if not self.webhdfs_https:
                raise ServiceRejected("the lake", self.address(), "a delegation token would travel in clear text over http",
                                      "Set LOL_WEBHDFS_HTTPS=1 (and LOL_WEBHDFS_CA_FILE) for a cluster that issues tokens.")
            options["token"] = self.hdfs_delegation_token
        else:
            options["user"] = self.hdfs_user
        return options

    def health_check(self) -> None:
        try:
            self.filesystem().get_file_info(self.path())
        except Exception as exc:  # the fsspec/requests/pyarrow errors differ per scheme
            raise ServiceUnavailable("the lake", self.address(), exc, "LOL_LAKE_ROOT") from exc

    # -- files ---------------------------------------------------------------------------------
    def write_parquet(self, table: pa.Table, relpath: str) -> int:
        """Write a Parquet (snappy) file atomically: a temp file renamed over the target.

        A replay that rewrites the same target replaces it, so no copy is ever added. Returns bytes written.
        """
        fs = self.filesystem()
        target = self.path(relpath)
        tmp = posixpath.join(posixpath.dirname(target), f"_tmp.{uuid.uuid4().hex}.{posixpath.basename(target)}")
        fs.create_dir(posixpath.dirname(target), recursive=True)
        try:
            faults.point("lake.raw_write")  # test hook (lol_core/faults.py): off unless LOL_FAULT_DIR is set
            pq.write_table(table, tmp, filesystem=fs, compression="snappy")
            self._set_replication(tmp)
            if fs.get_file_info(target).type != pafs.FileType.NotFound:
                fs.delete_file(target)  # HDFS rename does not overwrite
            if fs.get_file_info(target).type != pafs.FileType.NotFound:
                # (a rename onto a directory would move the file inside it)
                raise OSError(f"the lake cannot replace {target}: something else is at that path; remove it, then re-run the tick")
            fs.move(tmp, target)
            # WebHDFS answers a refused rename with {"boolean": false}, which fsspec does not check.
            if fs.get_file_info(target).type != pafs.FileType.File:
                raise OSError(f"the lake did not rename {tmp} to {target}: check the NameNode log, then re-run the tick")
        except BaseException:
            self._delete_quietly(tmp)  # no temp file of a failed write is left behind
            raise
        return fs.get_file_info(target).size

    def _set_replication(self, path: str) -> None:
        """Give a file written through WebHDFS the configured replication (before it is renamed into place)."""
        if self.hdfs_replication and self._webhdfs is not None:
            response = self._webhdfs._call("SETREPLICATION", method="put", path=path, replication=self.hdfs_replication)
            if not response.json().get("boolean"):
                raise OSError(f"the lake refused replication {self.hdfs_replication} for {path}: check the NameNode's dfs.replication.max")

    def _delete_quietly(self, path: str) -> None:
        try:
            self.filesystem().delete_file(path)
        except Exception:  # the lake may be the thing that failed; readers skip _tmp.* files anyway
            pass

    # -- leases: one writer at a time for a piece of the lake -----------------------------------
    def try_lease(self, relpath: str, holder: str, ttl_s: float) -> bool:
        """Take the lease file `relpath` for `holder`, unless another holder's unexpired lease is there.

        The lease is published by an atomic create-if-absent (an HDFS rename, which refuses an existing
        target; a hard link on a local disk), so of two evaluations racing for it exactly one wins. An
        expired lease (its holder died) is broken. Returns whether `holder` holds it now."""
        current = self._read_lease(relpath)
        if current and current["holder"] != holder and current["expires"] > time.time():
            return False
        if current and current["holder"] != holder:
            self._delete_quietly(self.path(relpath))  # expired: its holder is gone
        fs, target = self.filesystem(), self.path(relpath)
        tmp = posixpath.join(posixpath.dirname(target), f"_tmp.{uuid.uuid4().hex}.lease")
        fs.create_dir(posixpath.dirname(target), recursive=True)
        with fs.open_output_stream(tmp) as out:
            out.write(json.dumps({"holder": holder, "expires": time.time() + ttl_s}).encode())
        try:
            self._create_if_absent(tmp, target)
        finally:
            self._delete_quietly(tmp)
        taken = self._read_lease(relpath)
        return bool(taken) and taken["holder"] == holder

    def release_lease(self, relpath: str, holder: str) -> None:
        current = self._read_lease(relpath)
        if current and current["holder"] == holder:
            self._delete_quietly(self.path(relpath))

    def _read_lease(self, relpath: str) -> dict | None:
        try:
            with self.filesystem().open_input_stream(self.path(relpath)) as stream:
                return json.loads(stream.read())
        except (FileNotFoundError, ValueError):
            return None
        except OSError as exc:
            if "not found" in str(exc).lower() or "does not exist" in str(exc).lower():
                return None
            raise

    def _create_if_absent(self, source: str, target: str) -> None:
        if self.scheme == "hdfs":
            self.filesystem()
            self._webhdfs._call("RENAME", method="put", path=source, destination=target)  # false when taken
        elif self.scheme == "file":
            try:
                os.link(source, target)
            except FileExistsError:
                pass
        else:  # s3: no create-if-absent here; the last writer wins (one sensor evaluation at a time assumed)
            self.filesystem().move(source, target)

    def relative(self, info: pafs.FileInfo) -> str:
        """The lake-relative path of a listed file."""
        return posixpath.relpath(info.path, self.path())

    def read_parquet(self, relpath: str) -> pa.Table:
        """A file, or a directory of files (as Spark writes them; `_SUCCESS` and hidden files skipped)."""
        return pq.read_table(self.path(relpath), filesystem=self.filesystem())

    def read_parquet_files(self, relpaths: list[str], ahead: int = 4):
        """The files' tables in order, read `ahead` at a time in threads (each file is its own WebHDFS round
        trips): a caller walking a whole date holds a few files, not the date."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=ahead) as pool:
            for start in range(0, len(relpaths), ahead):
                yield from pool.map(self.read_parquet, relpaths[start : start + ahead])

    def list_files(self, reldir: str, suffix: str = ".parquet", recursive: bool = False) -> list[pafs.FileInfo]:
        """Files under a directory (hidden and temp files excluded); [] if it does not exist."""
        fs = self.filesystem()
        selector = pafs.FileSelector(self.path(reldir), allow_not_found=True, recursive=recursive)
        return sorted(
            (
                info
                for info in fs.get_file_info(selector)
                if info.type == pafs.FileType.File and info.base_name.endswith(suffix) and not info.base_name.startswith(("_", "."))
            ),
            key=lambda info: info.path,
        )

    def delete_dir(self, reldir: str) -> None:
        fs = self.filesystem()
        if fs.get_file_info(self.path(reldir)).type == pafs.FileType.Directory:
            fs.delete_dir(self.path(reldir))


# Seconds a WebHDFS request may take to connect and to answer before it fails (and the tick retries).
WEBHDFS_TIMEOUT_S = (5.0, 60.0)


class _TimeoutSession:
    """A requests.Session whose requests all carry a default timeout."""

    def __init__(self, session, timeout):
        self._session, self._timeout = session, timeout

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return self._session.request(*args, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def put(self, url, data=None, **kwargs):
        return self.request("PUT", url, data=data, **kwargs)

    def post(self, url, data=None, **kwargs):
        return self.request("POST", url, data=data, **kwargs)

    def __getattr__(self, name):
        return getattr(self._session, name)
