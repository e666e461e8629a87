"""``llmseal audit pack``: build, verify and fetch signed fingerprint packs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from rich.text import Text

from llmseal.cli._common import out_console, parse_time, print_json, read_input, write_atomic
from llmseal.core import _time
from llmseal.core.keyset import KeyResolver

__all__ = ["pack"]

_PUBLISHERS = click.option(
    "--publishers", metavar="KEYSET",
    help="Key set (file or URL) of the publishers you trust.",
)  # fmt: skip
_AT = click.option(
    "--at", "at", metavar="TIME", help="Judge expiry at TIME (RFC 3339); default now."
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group("pack")
def pack() -> None:
    """Signed, content-addressed bundles of references (fingerprint packs)."""


@pack.command("build")
@click.argument("references", nargs=-1, required=True, metavar="REF.json...")
@click.option("--key-dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="Key directory of the publisher (llmseal keys new).")  # fmt: skip
@click.option("--key-id", required=True, help="The publisher key to sign with (active).")
@click.option("--out", "out_path", required=True, metavar="PACK.json", help="Where to write it.")
@click.option("--license", "license_", default="CC-BY-4.0", show_default=True,
              help="Licence of the references (SPDX id).")  # fmt: skip
@click.option("--expires-in", "days", default=90, show_default=True,
              type=click.IntRange(1, 3650), help="Days until the pack expires.")  # fmt: skip
@click.option("--name", default="", help="Publisher display name.")
@click.option("--url", default="", help="Publisher URL.")
@click.option("--at", "at", metavar="TIME", help="created_at (RFC 3339); default now.")
@click.option("--announce", "announce_path", metavar="ANNOUNCEMENT.json",
              help="Also write its announcement (chunk hashes, mirrors).")  # fmt: skip
@click.option("--mirror", "mirrors", multiple=True, metavar="URL",
              help="Where the pack will be served, for the announcement.")  # fmt: skip
@click.option("--chunk-size", default=262_144, show_default=True,
              type=click.IntRange(256, 1 << 26), help="Announcement chunk bytes.")  # fmt: skip
def build(
    references: tuple[str, ...], key_dir: str, key_id: str, out_path: str, license_: str,
    days: int, name: str, url: str, at: str | None, announce_path: str | None,
    mirrors: tuple[str, ...], chunk_size: int,
) -> None:  # fmt: skip
    """Sign a pack of REF.json files (private references are refused) into PACK.json."""
    from llmseal.audit.enrollment.reference import Reference
    from llmseal.audit.packs.packfile import build_pack
    from llmseal.trust.keydir import KeyDirectory

    refs = [Reference.from_json(read_input(p, "reference")) for p in references]
    signer = KeyDirectory(key_dir).signer(key_id)
    when = parse_time(at, "--at")
    built = build_pack(refs, signer=signer, at=when, expires_at=when + timedelta(days=days),
                       license=license_, name=name, url=url)  # fmt: skip
    write_atomic(out_path, built.to_json())
    if announce_path:
        from llmseal.audit.packs.announce import announce
        from llmseal.cli._common import json_text

        note = announce(built, mirrors=mirrors, chunk_size=chunk_size)
        write_atomic(announce_path, json_text(note.to_dict()))
    out_console.print(Text.assemble("built ", (built.pack_id, "bold"),
                                    f" ({len(refs)} references) -> {out_path}"))  # fmt: skip


@pack.command("verify")
@click.argument("pack_path", metavar="PACK.json")
@_PUBLISHERS
@_AT
@_JSON
def verify(pack_path: str, publishers: str | None, at: str | None, as_json: bool) -> None:
    """Check PACK.json: hash, signature, then (with --publishers) the publisher; exit 2 if bad."""
    from llmseal.audit.packs.packfile import verify_pack

    trusted = _publishers(publishers) if publishers else None
    checked = verify_pack(read_input(pack_path, "fingerprint pack"), trusted=trusted,
                          at=parse_time(at, "--at"))  # fmt: skip
    _show(checked, "trusted" if trusted else "not checked (give --publishers)", as_json)


@pack.command("fetch")
@click.argument("urls", nargs=-1, metavar="URL...")
@click.option("--data-dir", default="~/.llmseal", show_default=True,
              type=click.Path(file_okay=False),
              help="Stored under DATA_DIR/fingerprints/.")  # fmt: skip
@click.option("--announcement", "announcement_path", metavar="ANNOUNCEMENT.json",
              help="Check its signature first, then every chunk as it arrives; "
                   "its mirrors are tried after the URLs.")  # fmt: skip
@_PUBLISHERS
@_AT
@_JSON
def fetch(
    urls: tuple[str, ...], data_dir: str, announcement_path: str | None, publishers: str | None,
    at: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Fetch a pack from the first mirror URL whose bytes pass hash, signature and trust.

    The trusted publishers are --publishers, or DATA_DIR/fingerprints/publishers.json.
    Nothing is stored unless every check passed.
    """
    from llmseal.audit.packs.announce import Announcement
    from llmseal.audit.packs.packstore import fetch_pack, load_publishers
    from llmseal.cli._common import err_console, read_json, terminal_safe

    note = None
    if announcement_path:
        note = Announcement.from_dict(read_json(announcement_path, "pack announcement"))
    elif not urls:
        raise click.UsageError("give a mirror URL or --announcement")
    trusted = _publishers(publishers) if publishers else load_publishers(data_dir)
    when = parse_time(at, "--at")
    result = fetch_pack(list(urls), data_dir=data_dir, trusted=trusted, at=when, announcement=note)
    for url, reason in result.failures:
        err_console.print(f"skipped mirror {terminal_safe(url)}: {terminal_safe(reason)}")
    _show(result.pack, "trusted", as_json, stored=str(result.path))


def _publishers(source: str) -> KeyResolver:
    from llmseal.trust.keysource import load_keyset

    return load_keyset(source)


def _show(checked: Any, publisher: str, as_json: bool, stored: str | None = None) -> None:
    from llmseal.cli._common import terminal_safe

    refs = [{"reference_id": r.reference_id, "model_id": r.model_id, "families": list(r.families)}
            for r in checked.references]  # fmt: skip
    if as_json:
        out: dict[str, Any] = {
            "status": "valid", "pack_id": checked.pack_id,
            "publisher": {"key_id": checked.publisher.key_id, "trust": publisher.split(" ")[0]},
            "created_at": _time.format_utc(checked.created_at),
            "expires_at": _time.format_utc(checked.expires_at),
            "license": checked.license, "references": refs,
        }  # fmt: skip
        if stored:
            out["stored"] = stored
        print_json(out)
        return
    lines = [
        f"valid  pack {checked.pack_id}",
        f"  publisher  {terminal_safe(checked.publisher.key_id)} ({publisher})",
        f"  created    {_time.format_utc(checked.created_at)}",
        f"  expires    {_time.format_utc(checked.expires_at)}",
        f"  license    {terminal_safe(checked.license)}",
    ]
    for ref in refs:
        families = ", ".join(ref["families"])
        lines.append(f"  reference  {ref['reference_id']} {terminal_safe(ref['model_id'])} "
                     f"({terminal_safe(families)})")  # fmt: skip
    if stored:
        lines.append(f"  stored     {stored}")
    out_console.print(Text("\n".join(lines)))
