"""``llmseal audit``: enroll references, run audits (``replay`` joins this group)."""

from __future__ import annotations

import random
import secrets
import sys
from pathlib import Path

import click

from llmseal.cli._common import err_console, now, print_json, write_atomic
from llmseal.core.keys import Signer
from llmseal.core.keyset import KeyResolver

__all__ = ["audit"]

_FAMILIES = "kbf,logprob,stack"


@click.group("audit")
def audit() -> None:
    """Model-identity audits of signed answers."""


@audit.command("enroll")
@click.option("--endpoint", "endpoints", multiple=True, metavar="URL",
              help="A trusted endpoint (http://host:port/v1); repeatable.")  # fmt: skip
@click.option("--weights", type=click.Path(dir_okay=False, exists=True), metavar="MODEL.gguf",
              help="Also run these weights locally under the honest engine settings.")  # fmt: skip
@click.option("--model-id", required=True, help="The model the reference is for.")
@click.option("--alias", "aliases", multiple=True, help="Other names it is sold under.")
@click.option("--families", default=_FAMILIES, show_default=True, help="Comma list.")
@click.option("--probes", default=40, show_default=True, type=click.IntRange(4, 500),
              help="Candidate probes per family.")  # fmt: skip
@click.option("--repeats", default=2, show_default=True, type=click.IntRange(1, 10),
              help="Passes over each endpoint, each in a fresh order.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int,
              help="Probe-bank seed (a private seed gives a private bank).")  # fmt: skip
@click.option("--private", is_flag=True, help="Mark the bank private (never put in a pack).")
@click.option("--stealth", is_flag=True,
              help="Phrase and send probes like ordinary traffic.")  # fmt: skip
@click.option("--margin", default=0.3, show_default=True, type=click.FloatRange(0, 20),
              help="Keep probes whose answer tokens win by this many nats.")  # fmt: skip
@click.option("--in-process", is_flag=True,
              help="Run the weights' settings in this process, not one process each.")  # fmt: skip
@click.option("--out", required=True, type=click.Path(dir_okay=False), metavar="REF.json")
def enroll(
    endpoints: tuple[str, ...],
    weights: str | None,
    model_id: str,
    aliases: tuple[str, ...],
    families: str,
    probes: int,
    repeats: int,
    seed: int,
    private: bool,
    stealth: bool,
    margin: float,
    in_process: bool,
    out: str,
) -> None:
    """Measure a reference (probes, answers, honest envelope) from trusted sources."""
    from llmseal.audit.enrollment.enroll import EndpointSource, weight_sources
    from llmseal.audit.enrollment.enroll import enroll as measure
    from llmseal.audit.family import EnrollOptions, Source, registry
    from llmseal.errors import InputError

    if not endpoints and weights is None:
        raise InputError("give --endpoint URL and/or --weights MODEL.gguf")
    chosen = registry().resolve(families.split(","))
    if any(f.name == "replay" for f in chosen):
        raise InputError("replay references come from `llmseal audit replay`, not enroll")
    sources: list[Source] = [
        EndpointSource(url, label="endpoint" if len(endpoints) == 1 else f"endpoint{i + 1}")
        for i, url in enumerate(endpoints)
    ]
    provenance: dict[str, object] = {"endpoints": list(endpoints)}
    if weights is not None:
        import hashlib

        with Path(weights).open("rb") as handle:
            provenance["weights_sha256"] = hashlib.file_digest(handle, "sha256").hexdigest()
        sources += weight_sources(weights, processes=not in_process)
    options = EnrollOptions(model_id=model_id, seed=seed, probes=probes, repeats=repeats,
                            style="stealth" if stealth else "plain", margin=margin)  # fmt: skip
    try:
        with err_console.status(f"enrolling {model_id} from {len(sources)} sources..."):
            reference = measure(sources, chosen, options, at=now(), provenance=provenance,
                                private=private)  # fmt: skip
    finally:
        for source in sources:
            close = getattr(source, "close", None)
            if close is not None:
                close()
    if aliases:
        from llmseal.audit.enrollment.reference import Reference

        body = reference.to_dict()
        reference = Reference.build(
            model_id=model_id, families=body["families"], covers=body["covers"], at=now(),
            source=body["source"], aliases=aliases, private=private,
            generator={k: v for k, v in body["generator"].items() if k not in ("name", "version")},
            provenance=body["provenance"],
        )  # fmt: skip
    write_atomic(out, reference.to_json())
    kept = {n: len((reference.section(n) or {}).get("probes", ())) for n in reference.families}
    err_console.print(f"{reference.reference_id}: {kept} probes; covers {list(reference.covers)}")
    sys.stdout.write(f"{reference.reference_id}\n")


@audit.command("run")
@click.option("--endpoint", required=True, metavar="URL", help="The audited endpoint (.../v1).")
@click.option("--keys", required=True, metavar="KEYSET",
              help="The issuer's key set (URL or file); every answer must verify.")  # fmt: skip
@click.option("--model-id", required=True, help="The model the endpoint claims.")
@click.option("--pack", required=True, type=click.Path(dir_okay=False, exists=True),
              metavar="PACK.json", help="A fingerprint pack (or a bare reference).")  # fmt: skip
@click.option("--publishers", metavar="KEYSET",
              help="Trusted publishers (default: DATA_DIR/fingerprints/).")  # fmt: skip
@click.option("--families", default="", help="Comma list (default: all the pack has).")
@click.option("--budget", default=300, show_default=True, type=click.IntRange(1, 100000),
              help="At most this many queries.")  # fmt: skip
@click.option("--data-dir", default="llmseal-audit", show_default=True,
              type=click.Path(file_okay=False),
              help="Evidence store and audits/ (the reports).")  # fmt: skip
@click.option("--key-dir", type=click.Path(file_okay=False, exists=True),
              help="Sign the report with a key of this key directory.")  # fmt: skip
@click.option("--key-id", help="The signing key (default: the directory's only active key).")
@click.option("--alpha", default=0.01, show_default=True, type=click.FloatRange(1e-9, 0.5),
              help="Bound on a false DIFF (split over the families).")  # fmt: skip
@click.option("--min-effect", default=0.1, show_default=True,
              type=click.FloatRange(0.005, 0.9),
              help="SAME rules out this much more breakage than honest.")  # fmt: skip
@click.option("--cover", default=0.0, show_default=True, type=click.FloatRange(0, 100),
              help="Ordinary-looking cover requests per probe, interleaved at random.")  # fmt: skip
@click.option("--seed", type=int, help="Probe order seed (default: random).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run(
    endpoint: str,
    keys: str,
    model_id: str,
    pack: str,
    publishers: str | None,
    families: str,
    budget: int,
    data_dir: str,
    key_dir: str | None,
    key_id: str | None,
    alpha: float,
    min_effect: float,
    cover: float,
    seed: int | None,
    as_json: bool,
) -> None:
    """Audit ENDPOINT's claim to serve MODEL: exit 0 SAME, 1 DIFF, 3 UNDETERMINED."""
    from llmseal.audit.family import registry
    from llmseal.audit.packs.packfile import load_references
    from llmseal.audit.reports.report import build_report, write_report
    from llmseal.audit.runner import pick_references, run_audit
    from llmseal.audit.stats.sequential import ErrorRates
    from llmseal.cli.audit._send import VerifiedSender

    trusted = _publishers(publishers, data_dir)
    loaded = load_references(pack, trusted=trusted, at=now())
    if trusted is None and b'"pack_id"' in Path(pack).read_bytes():
        err_console.print("note: no --publishers: the pack's publisher was not checked")
    references = pick_references(loaded, model_id,
                                 [f for f in families.split(",") if f.strip()])  # fmt: skip
    chosen = registry().resolve(list(references))
    signer = _signer(key_dir, key_id) if key_dir else None
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    # A private probe order: the seller must not guess which requests are probes.
    order = random.Random(seed if seed is not None else secrets.randbits(64))  # noqa: S311
    rates = ErrorRates(alpha=alpha, min_effect=min_effect)
    sender = VerifiedSender(endpoint, keys=keys, data_dir=data_dir, model_id=model_id)
    with sender, err_console.status(f"auditing {endpoint} ({', '.join(references)})..."):
        result = run_audit(chosen, references, sender, budget=budget, rates=rates, rng=order,
                           cover=cover)  # fmt: skip
    report = build_report(result, endpoint=endpoint, model_id=model_id, at=now(), signer=signer)
    path = write_report(report, data_dir)
    if as_json:
        print_json({**report.summary(), "report": str(path)})
    else:
        sys.stdout.write(f"{result.outcome.value} after {result.queries} queries\n")
        for verdict in result.verdicts:
            sys.stdout.write(f"  {verdict.family}: {verdict.outcome.value} "
                             f"({verdict.queries} queries) {verdict.reason}\n")  # fmt: skip
        sys.stdout.write(f"report: {path}\n")
    sys.exit(result.outcome.exit_code)


def _publishers(source: str | None, data_dir: str) -> KeyResolver | None:
    """The pack trust policy: --publishers, else the data dir's, else none."""
    from llmseal.audit.packs.packstore import load_publishers, publishers_path
    from llmseal.trust.keysource import load_keyset

    if source:
        return load_keyset(source)
    if publishers_path(data_dir).exists():
        return load_publishers(data_dir)
    return None


def _signer(key_dir: str, key_id: str | None) -> Signer:
    from llmseal.errors import InputError
    from llmseal.trust.keydir import KeyDirectory

    directory = KeyDirectory(key_dir)
    if key_id is None:
        active = [e.key_id for e in directory.load_keyset() if e.status == "active"]
        if len(active) != 1:
            raise InputError(f"{key_dir} has {len(active)} active keys: name one with --key-id")
        key_id = active[0]
    return directory.signer(key_id)
