"""The ``llmseal`` command line. Thin: every command calls the library.

One error boundary (:func:`main`): an :class:`llmseal.Error` becomes one line on
stderr and exit status 2; so does a feature whose optional extra is not installed
(the line names the ``pip install 'llmseal[...]'`` to run); anything unexpected
becomes one line too (the traceback only with ``LLMSEAL_DEBUG=1``). Commands that
judge something (verify) exit 1 for a negative verdict themselves.

Every command module imports with the base install (``pip install llmseal``):
optional packages are imported inside the commands that use them
(``tests/unit/test_base_install.py`` runs the CLI with every extra hidden).
"""

from __future__ import annotations

import os
import sys

import click

from llmseal import __version__
from llmseal._extras import missing_extra
from llmseal.cli._common import err_console, terminal_safe
from llmseal.cli._needs import guard_commands
from llmseal.errors import Error

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llmseal")
def cli() -> None:
    """Signed, verifiable receipts for LLM responses."""


def _register() -> None:
    from llmseal.cli import _bench, _ca, _keys, _sign, _web
    from llmseal.cli.evidence import _evidence
    from llmseal.cli.log import _log
    from llmseal.cli.verify import _verify

    cli.add_command(_evidence.evidence)
    cli.add_command(_keys.keys)
    cli.add_command(_ca.ca)
    cli.add_command(_sign.sign)
    cli.add_command(_verify.verify)
    cli.add_command(_bench.bench)
    cli.add_command(_log.log)
    cli.add_command(_web.web)
    from llmseal.cli import _weights

    cli.add_command(_weights.weights)
    from llmseal.cli.serve import _serve

    cli.add_command(_serve.serve)
    from llmseal.cli.log import _witness

    cli.add_command(_witness.witness)
    from llmseal.cli.bundle._bundle import bundle
    from llmseal.cli.log import _monitor

    cli.add_command(bundle)

    _log.log.add_command(_monitor.monitor)
    from llmseal.cli.audit import _audit

    cli.add_command(_audit.audit)


_register()


def _attach_replay() -> None:
    """``llmseal audit replay`` joins the ``audit`` group, whoever defines it (issue 12 / 13)."""
    from llmseal.cli.audit._replay import replay

    existing = cli.commands.get("audit")
    if isinstance(existing, click.Group):
        existing.add_command(replay)
        return

    @click.group("audit")
    def audit() -> None:
        """Model-identity audits of signed answers."""

    audit.add_command(replay)
    cli.add_command(audit)


_attach_replay()


def _attach_audit_tools() -> None:
    """``llmseal audit pack`` and ``llmseal audit report`` (issue 12) join the ``audit`` group."""
    from llmseal.cli.audit._pack import pack
    from llmseal.cli.audit._report import report

    group = cli.commands["audit"]
    assert isinstance(group, click.Group)
    group.add_command(pack)
    group.add_command(report)


_attach_audit_tools()
guard_commands(cli)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its status."""
    try:
        cli.main(args=argv, prog_name="llmseal", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        err_console.print("llmseal: aborted")
        sys.exit(130)
    except Error as exc:
        _fail(exc.diagnostics(), 2)
    except KeyboardInterrupt:
        sys.exit(130)
    except ImportError as exc:  # an optional package a command imported is not installed
        missing = missing_extra(exc, f"`{_command_path(argv)}`")
        if missing is None:
            _internal(exc)
        else:
            _fail(missing.diagnostics(), 2)
    except Exception as exc:  # the last boundary: never a traceback for users
        _internal(exc)
    sys.exit(0)


def _command_path(argv: list[str] | None) -> str:
    """``llmseal bundle verify``: the (sub)command the arguments name, for messages."""
    words = ["llmseal"]
    command: click.Command = cli
    for arg in sys.argv[1:] if argv is None else argv:
        if not isinstance(command, click.Group) or arg not in command.commands:
            break
        command = command.commands[arg]
        words.append(arg)
    return " ".join(words)


def _internal(exc: Exception) -> None:
    if os.environ.get("LLMSEAL_DEBUG"):
        raise exc
    _fail(f"internal error: {type(exc).__name__}: {exc} (set LLMSEAL_DEBUG=1 for details)", 3)


def _fail(message: str, status: int) -> None:
    sys.stderr.write(f"llmseal: error: {terminal_safe(message)}\n")
    sys.exit(status)
