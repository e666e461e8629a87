"""Key sources: reading files and URLs with limits, the TTL cache, ordering and binding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.policy import Policy
from llmseal.errors import KeyLookupError, KeySetError, NetworkError
from llmseal.trust.keysource import (
    BoundIssuer,
    CachedKeySet,
    KeySources,
    load_keyset,
    policy_sources,
    read_source,
)
from tests.helpers import ThreadedUvicorn


class KeyServer:
    """Serves ``keysets[name]`` at ``/name``; counts every fetch."""

    def __init__(self) -> None:
        self.keysets: dict[str, bytes] = {}
        self.fetches: dict[str, int] = {}
        self.app = Starlette(routes=[Route("/{name}", self.serve)])

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.fetches[name] = self.fetches.get(name, 0) + 1
        if name == "moved":
            return RedirectResponse("/a")
        if name not in self.keysets:
            return Response(b"no", 404)
        return Response(self.keysets[name], media_type="application/json")


@pytest.fixture
def server() -> Iterator[tuple[KeyServer, str]]:
    keys = KeyServer()
    with ThreadedUvicorn(keys.app) as running:
        yield keys, running.url


def _keyset(*key_ids: str) -> tuple[bytes, dict[str, KeyEntry]]:
    entries = {k: KeyEntry(k, Ed25519Signer.generate(k).public_key()) for k in key_ids}
    return orjson.dumps(KeySet(entries.values()).to_dict()), entries


def test_files_are_read_with_a_size_limit(tmp_path: Path) -> None:
    data, entries = _keyset("k1")
    path = tmp_path / "keys.json"
    path.write_bytes(data)
    assert read_source(str(path)) == data
    assert read_source(str(path), max_bytes=len(data)) == data
    with pytest.raises(KeySetError, match=f"larger than {len(data) - 1} bytes"):
        read_source(str(path), max_bytes=len(data) - 1)
    with pytest.raises(KeySetError, match="cannot read key set"):
        read_source(str(tmp_path / "missing.json"))
    assert load_keyset(str(path)).resolve("k1") == entries["k1"]


def test_urls_are_fetched_with_a_size_limit_and_no_redirects(
    server: tuple[KeyServer, str],
) -> None:
    keys, url = server
    keys.keysets["a"], _ = _keyset("k1")
    assert read_source(f"{url}/a") == keys.keysets["a"]
    size = len(keys.keysets["a"])
    assert read_source(f"{url}/a", max_bytes=size) == keys.keysets["a"]
    with pytest.raises(NetworkError, match=f"larger than {size - 1} bytes"):
        read_source(f"{url}/a", max_bytes=size - 1)
    with pytest.raises(NetworkError, match="answered HTTP 404"):
        read_source(f"{url}/absent")
    with pytest.raises(NetworkError, match="answered HTTP 307"):  # never followed
        read_source(f"{url}/moved")
    assert keys.fetches.get("a", 0) == 3


def test_an_unreachable_url_is_a_network_error() -> None:
    from tests.helpers import refused_port

    with refused_port() as port, pytest.raises(NetworkError, match="cannot fetch key set"):
        read_source(f"http://127.0.0.1:{port}/keys")


def test_the_cache_refetches_after_its_ttl_and_for_unknown_keys(
    server: tuple[KeyServer, str],
) -> None:
    keys, url = server
    keys.keysets["a"], entries = _keyset("k1")
    now = [1000.0]
    cached = CachedKeySet(f"{url}/a", ttl=300, min_refresh=5, clock=lambda: now[0])
    for _ in range(3):
        assert cached.resolve("k1") == entries["k1"]
    assert keys.fetches["a"] == 1
    now[0] += 4.9  # an unknown key right after a fetch: no refetch (a flood stays cheap)
    assert cached.resolve("k2") is None and keys.fetches["a"] == 1
    now[0] += 0.1
    assert cached.resolve("k2") is None  # unknown, min_refresh passed: one refetch...
    assert keys.fetches["a"] == 2
    assert cached.resolve("k2") is None  # ...then not again within min_refresh
    keys.keysets["a"], rotated = _keyset("k1", "k2")
    now[0] += 5
    assert cached.resolve("k2") == rotated["k2"] and keys.fetches["a"] == 3
    now[0] += 299.9
    assert cached.keyset().resolve("k1") == rotated["k1"] and keys.fetches["a"] == 3
    now[0] += 0.1
    cached.keyset()
    assert keys.fetches["a"] == 4


class _Says:
    def __init__(self, entry: KeyEntry | None = None, reason: str | None = None) -> None:
        self.entry, self.reason, self.asked = entry, reason, 0

    def resolve(self, key_id: str) -> KeyEntry | None:
        self.asked += 1
        if self.reason is not None:
            raise KeyLookupError(self.reason, code="test")
        return self.entry


def test_sources_are_asked_in_order_and_the_last_reason_is_kept() -> None:
    entry = KeyEntry("k", Ed25519Signer.generate("k").public_key())
    first, second, third = _Says(reason="first"), _Says(entry), _Says(reason="never asked")
    assert KeySources(first, second, third).resolve("k") is entry
    assert (first.asked, second.asked, third.asked) == (1, 1, 0)
    with pytest.raises(KeyLookupError, match="second reason"):
        KeySources(_Says(reason="first reason"), _Says(), _Says(reason="second reason")).resolve(
            "k"
        )
    assert KeySources(_Says(), _Says()).resolve("k") is None
    assert KeySources().resolve("k") is None


def test_a_bound_source_marks_its_entries() -> None:
    entry = KeyEntry("k", Ed25519Signer.generate("k").public_key(), extra={"note": 1})
    bound = BoundIssuer(_Says(entry), "a.example").resolve("k")
    assert bound is not None and bound.bound_issuer == "a.example"
    assert bound.extra == {"note": 1, "bound_issuer": "a.example"} and entry.bound_issuer is None
    assert BoundIssuer(_Says(), "a.example").resolve("k") is None


def test_policy_sources_bind_the_table_form(tmp_path: Path) -> None:
    paths: dict[str, Any] = {}
    for name in ("a", "b"):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_bytes(_keyset(f"{name}-key")[0])
    table = Policy.from_toml(f'[keysets]\n"a.example" = "{paths["a"]}"')
    listed = Policy.from_toml(f'keysets = ["{paths["b"]}"]')
    [bound] = policy_sources(table, cached=False)
    assert bound.resolve("a-key").bound_issuer == "a.example"  # type: ignore[union-attr]
    [plain] = policy_sources(listed, cached=True)
    assert isinstance(plain, CachedKeySet) and plain.resolve("b-key").bound_issuer is None  # type: ignore[union-attr]
    [loaded] = policy_sources(listed, cached=False)
    assert isinstance(loaded, KeySet) and "b-key" in loaded
