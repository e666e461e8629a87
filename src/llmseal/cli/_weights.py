"""``llmseal weights``: commit to a GGUF file, check a file, spot-check an issuer."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from llmseal.cli._common import err_console, print_json, read_input
from llmseal.weights.manifest import DEFAULT_CHUNK_SIZE, WeightManifest

__all__ = ["weights"]

_MANIFEST = click.option(
    "--manifest",
    "manifest_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The weights manifest (from `llmseal weights commit`).",
)


@click.group()
def weights() -> None:
    """Weight commitments: a Merkle root over a GGUF file, chunk proofs, spot checks."""


def load_manifest(path: str) -> WeightManifest:
    """Read a manifest file (CLI input: WeightsError → one line, exit 2)."""
    return WeightManifest.from_json(read_input(path, "weights manifest"))


@weights.command("commit")
@click.argument("model", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--chunk-size",
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    type=click.IntRange(4096, 1 << 26),
    metavar="BYTES",
    help="Chunk size of the Merkle tree (chunks never cross a tensor boundary).",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="MANIFEST.json")
@click.option("--workers", type=click.IntRange(1, 256), help="Hashing threads (default: cores).")
def commit(model: str, chunk_size: int, out: str, workers: int | None) -> None:
    """Hash MODEL.gguf on all cores, write its manifest, print its weight_hash."""
    from llmseal.trust.keydir import write_atomic
    from llmseal.weights.commit import commit_file

    size = Path(model).stat().st_size
    with _bar() as bar:
        task = bar.add_task("hashing", total=size)
        manifest = commit_file(
            model,
            chunk_size=chunk_size,
            workers=workers,
            progress=lambda n: bar.advance(task, n),
        )
    write_atomic(Path(out), manifest.to_json() + b"\n")
    err_console.print(
        f"{manifest.file_name}: {len(manifest.tensors)} tensors, {manifest.chunk_count} chunks "
        f"of ≤ {chunk_size} bytes, file sha256 {manifest.file_sha256}"
    )
    sys.stdout.write(manifest.weight_hash + "\n")


@weights.command("check")
@click.argument("model", type=click.Path(dir_okay=False, exists=True))
@_MANIFEST
def check(model: str, manifest_path: str) -> None:
    """Exit 0 if MODEL is the committed file; otherwise name the tensors that differ (exit 1)."""
    from llmseal.weights.commit import commit_file, differences

    manifest = load_manifest(manifest_path)
    other = commit_file(model, chunk_size=manifest.chunk_size)
    where = differences(manifest, other)
    if not where:
        sys.stdout.write(f"same {manifest.weight_hash}\n")
        return
    sys.stdout.write(f"different {other.weight_hash} (committed {manifest.weight_hash})\n")
    for line in where:
        sys.stdout.write(f"  {line}\n")
    sys.exit(1)


@weights.command("challenge")
@click.argument("url")
@_MANIFEST
@click.option("--samples", default=16, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", type=int, help="Choose chunks reproducibly (default: fresh randomness).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def challenge(url: str, manifest_path: str, samples: int, seed: int | None, as_json: bool) -> None:
    """Fetch K random chunks from the issuer at URL and check each proof (exit 1 on a failure)."""
    from llmseal.weights.challenge import run_challenge

    manifest = load_manifest(manifest_path)
    result = run_challenge(url, manifest, samples=samples, seed=seed)
    if as_json:
        print_json(result.to_dict())
    else:
        verdict = "passed" if result.passed else "FAILED"
        sys.stdout.write(
            f"{verdict}: {result.good}/{len(result.checks)} chunks of {manifest.weight_hash} "
            f"verified (median verify {result.median_verify_ms:.2f} ms)\n"
        )
        for c in result.checks:
            if not c.ok:
                sys.stdout.write(f"  chunk {c.index} ({c.region}): {c.reason}\n")
    if not result.passed:
        sys.exit(1)


def _bar() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
