"""Where ``llmseal serve`` settings come from, and how the effective ones are shown.

Every option can be given on the command line, as ``LLMSEAL_<NAME>`` in the
environment, or as ``<name>`` in a TOML file (``--config FILE``, or
``LLMSEAL_CONFIG``), where NAME is the option's setting name (``--help`` shows the
variable beside each option; ``--key-label`` is ``key_label``, ``--log`` is
``log_dir``). Precedence: command line > environment > file > default. The file's
``[models."NAME"]`` tables are the ``--model-key`` mapping. Unknown keys and
values of the wrong type stop with one line naming the file and key.

:func:`effective_config` renders what will run as TOML (a valid config file),
each value with where it came from, and secrets masked
(:func:`llmseal.gateway.config.redact.mask_secrets`).
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from llmseal.errors import ConfigError
from llmseal.gateway.config.redact import mask_secrets
from llmseal.gateway.keys.modelkeys import ModelKey, model_keys_from_table, parse_model_key

__all__ = ["ENV_PREFIX", "ServeCommand", "effective_config", "settings_options"]

F = TypeVar("F", bound=Callable[..., Any])
ENV_PREFIX = "LLMSEAL"
_NOT_SETTINGS = ("config", "check", "help")  # options that cannot come from a file


class ServeCommand(click.Command):
    """``serve``: environment variables for every option, and one-line errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", {})["auto_envvar_prefix"] = ENV_PREFIX
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, click.Option):
                param.show_envvar = True

    def make_context(
        self, info_name: str | None, args: list[str], *rest: Any, **kwargs: Any
    ) -> click.Context:
        given = list(args)
        try:
            return super().make_context(info_name, args, *rest, **kwargs)
        except click.UsageError as exc:
            # A bad value may come from the environment or the file, where a usage
            # text helps nobody: one line that names the option (and variable).
            raise ConfigError(exc.format_message() + _origin(exc, given)) from None


def _origin(exc: click.UsageError, args: list[str]) -> str:
    """`` (from LLMSEAL_X)`` when the bad value came from the environment."""
    param = getattr(exc, "param", None)
    if not isinstance(param, click.Option) or param.name is None:
        return ""
    if any(a.split("=", 1)[0] in param.opts for a in args):
        return ""
    name = f"{ENV_PREFIX}_{param.name.upper()}"
    return f" (from environment {name})" if name in os.environ else ""


class _ModelKeyType(click.ParamType[ModelKey, Any]):
    name = "MODEL=KEY_ID[,name=value...]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> ModelKey:
        if isinstance(value, ModelKey):  # from the [models] tables
            return value
        try:
            return parse_model_key(str(value))
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)


def _load_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Eager: the file's settings become the defaults the other options fall back to."""
    if value is not None:
        ctx.default_map = file_settings(ctx.command, Path(value), ctx)
    return value


_OPTIONS = (
    click.option(
        "--config",
        type=click.Path(dir_okay=False),
        is_eager=True,
        callback=_load_file,
        metavar="FILE.toml",
        help="Read settings from this TOML file (command line and environment win).",
    ),
    click.option(
        "--check",
        is_flag=True,
        allow_from_autoenv=False,
        help="Validate everything (keys, chains, mapping), print the configuration, exit.",
    ),
    click.option(
        "--model-key",
        "model_key",
        multiple=True,
        type=_ModelKeyType(),
        help="Sign MODEL's answers with KEY_ID (repeatable; options cert_chain=, key_label=,"
        ' key_file=, model_id=, dns=true). TOML: [models."MODEL"] tables.',
    ),
    click.option(
        "--unmapped",
        type=click.Choice(["refuse", "unsigned"]),
        default="refuse",
        show_default=True,
        help="With --model-key: refuse a model without a key (HTTP 400/502), or pass it unsigned.",
    ),
)


def settings_options(f: F) -> F:
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def file_settings(command: click.Command, path: Path, ctx: click.Context) -> dict[str, Any]:
    """The TOML file as click defaults; ConfigError (one line) for anything unusable."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read --config {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not TOML: {exc}") from None
    options = {
        p.name: p
        for p in command.params
        if isinstance(p, click.Option) and p.name and p.name not in _NOT_SETTINGS
    }
    options.pop("model_key", None)  # spelt as [models."NAME"] tables
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "models":
            out["model_key"] = model_keys_from_table(value, str(path))
            continue
        param = options.get(key)
        if param is None:
            near = difflib.get_close_matches(key.replace("-", "_"), [*options, "models"], 1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"{path}: unknown key {key!r}{hint}")
        out[key] = _value(param, value, f"{path}: {key}", ctx)
    return out


def _value(param: click.Option, value: Any, where: str, ctx: click.Context) -> Any:
    if param.multiple:
        if param.name == "inference" and isinstance(value, dict):  # a table reads better
            value = [f"{k}={v}" for k, v in value.items()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings")
        return [_convert(param, v, where, ctx) for v in value]
    if param.is_flag and param.is_bool_flag:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    wanted: tuple[type, ...] = (str,)
    if isinstance(param.type, click.types.IntParamType):
        wanted = (int,)
    elif isinstance(param.type, click.types.FloatParamType):
        wanted = (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted):
        kind = {int: "an integer", float: "a number", str: "a string"}[wanted[-1]]
        raise ConfigError(f"{where} must be {kind}, not {json.dumps(value, default=str)}")
    return _convert(param, value, where, ctx)


def _convert(param: click.Option, value: Any, where: str, ctx: click.Context) -> Any:
    try:
        return param.type.convert(value, param, ctx)
    except click.BadParameter as exc:
        raise ConfigError(f"{where}: {exc.message}") from None


def effective_config(ctx: click.Context, notes: Sequence[str] = ()) -> str:
    """What will run, as TOML with the source of each value; secrets masked."""
    lines = ["# llmseal serve: effective configuration (secrets masked)"]
    lines += [f"# {note}" for note in notes]
    models: tuple[ModelKey, ...] = ()
    mapping: click.Option | None = None
    for param in ctx.command.params:
        name = param.name or ""
        if not isinstance(param, click.Option) or name in _NOT_SETTINGS:
            continue
        value = ctx.params.get(name)
        if name == "model_key":
            models, mapping = tuple(value or ()), param
            continue
        if value is None or value == ():
            continue
        lines.append(f"{name} = {_toml(value)}  # {_source(ctx, param)}")
    for key in models:
        source = _source(ctx, mapping) if mapping is not None else "default"
        lines.append(f"\n[models.{json.dumps(key.model)}]  # {source}")
        lines += [f"{k} = {_toml(v)}" for k, v in key.describe().items()]
    return "\n".join(lines) + "\n"


def _source(ctx: click.Context, param: click.Option) -> str:
    source = ctx.get_parameter_source(param.name or "")
    if source is ParameterSource.COMMANDLINE:
        return "command line"
    if source is ParameterSource.ENVIRONMENT:
        return f"environment {ENV_PREFIX}_{(param.name or '').upper()}"
    if source is ParameterSource.DEFAULT_MAP:
        return f"file {ctx.params.get('config')}"
    return "default"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(mask_secrets(str(value)))  # JSON string escapes are TOML's too
