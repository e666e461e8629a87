"""One gateway, many models: which key signs which served model (docs/spec/receipt.md §7).

A :class:`ModelKey` says how one model is signed: the key (``key_id`` in the data
directory's key directory, optionally imported from ``key_file`` or adopted from a
PKCS#11 token as ``key_label``), the certificate chain sent beside its receipts
(``cert_chain``), the ``model_id`` its receipts carry, and whether its key id must
be a DNS key id (``dns``). Pure data and parsing: opening keys is
:mod:`llmseal.gateway.keys.keymap`.

:func:`served_model` finds the model an answer says it came from, in a JSON body
or in the stream event that carries it (OpenAI chunks and Ollama lines at the top
level, Anthropic's ``message_start`` under ``message``, Responses events under
``response``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from llmseal.core.receipt import check_identifier
from llmseal.errors import ConfigError, MalformedReceiptError

__all__ = [
    "MODEL_KEY_FIELDS",
    "ModelKey",
    "Unmapped",
    "check_model_keys",
    "check_one_key_options",
    "model_keys_from_table",
    "parse_model_key",
    "served_model",
    "usable_model",
]

Unmapped = Literal["refuse", "unsigned"]
# The per-model settings, as spelt in TOML (``[models."NAME"]``) and in ``--model-key``.
MODEL_KEY_FIELDS = ("key_id", "key_file", "key_label", "cert_chain", "model_id", "dns")


@dataclass(frozen=True, slots=True)
class ModelKey:
    """How the answers of one served model are signed."""

    model: str
    key_id: str
    key_file: str | None = None  # a PEM private key imported under key_id on start
    key_label: str | None = None  # a PKCS#11 key (the gateway's --pkcs11-module/--token)
    cert_chain: str | None = None  # leaf-first PEM chain of that key: receipt_evidence.x5c
    model_id: str | None = None  # the receipts' model_id (default: the served model's name)
    dns: bool = False  # the key id must have a DNS name (DOMAIN/MODEL[/PERIOD])

    @classmethod
    def from_dict(cls, data: Any) -> ModelKey:
        """From the workers' JSON configuration (``dataclasses.asdict`` of one)."""
        if isinstance(data, ModelKey):
            return data
        if not isinstance(data, dict):
            raise ConfigError("a model key must be an object")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"not a model key: {exc}") from None

    def describe(self) -> dict[str, Any]:
        """The settings that are set (for the effective configuration)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "model" and getattr(self, f.name) not in (None, False)
        }


def usable_model(value: Any) -> str | None:
    """``value`` if it can name a model in a receipt (``model_id`` rules), else None."""
    if not isinstance(value, str):
        return None
    try:
        check_identifier("model_id", value)
    except MalformedReceiptError:
        return None
    return value


def parse_model_key(text: str) -> ModelKey:
    """``MODEL=KEY_ID[,cert_chain=FILE][,key_label=L][,key_file=F][,model_id=M][,dns=true]``."""
    model, sep, rest = text.partition("=")
    if not sep or not model or not rest:
        raise ConfigError(f"--model-key {text!r}: expected MODEL=KEY_ID[,name=value...]")
    key_id, *options = rest.split(",")
    table: dict[str, Any] = {"key_id": key_id}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or name not in MODEL_KEY_FIELDS or name == "key_id":
            raise ConfigError(
                f"--model-key {text!r}: {option!r} is not one of "
                + ", ".join(f"{n}=..." for n in MODEL_KEY_FIELDS[1:])
            )
        if name in table:
            raise ConfigError(f"--model-key {text!r}: {name} given twice")
        if name == "dns":
            if value not in ("true", "false"):
                raise ConfigError(f"--model-key {text!r}: dns takes true or false")
            table[name] = value == "true"
        else:
            table[name] = value
    return model_keys_from_table({model: table}, "--model-key")[0]


def model_keys_from_table(table: Any, where: str) -> tuple[ModelKey, ...]:
    """The ``[models]`` table of a configuration file (``where`` names it in errors)."""
    if not isinstance(table, dict):
        raise ConfigError(f'{where}: models must be a table of [models."NAME"] tables')
    out = []
    for model, entry in table.items():
        name = f"{where}: models.{model}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{name} must be a table")
        for key, value in entry.items():
            if key not in MODEL_KEY_FIELDS:
                raise ConfigError(f"{name}: unknown key {key!r}")
            wanted = bool if key == "dns" else str
            if not isinstance(value, wanted) or (wanted is str and not value):
                kind = "true or false" if wanted is bool else "a non-empty string"
                raise ConfigError(f"{name}.{key} must be {kind}")
        if "key_id" not in entry:
            raise ConfigError(f"{name} needs key_id")
        out.append(ModelKey(model=model, **entry))
    return tuple(out)


def check_model_keys(keys: tuple[ModelKey, ...]) -> None:
    """ConfigError unless the mapping is consistent: names usable, one entry per model."""
    seen: set[str] = set()
    for key in keys:
        if usable_model(key.model) is None:
            raise ConfigError(f"model {key.model!r} cannot name a model in a receipt")
        if key.model in seen:
            raise ConfigError(f"model {key.model!r} is mapped twice")
        seen.add(key.model)
        if key.model_id is not None and usable_model(key.model_id) is None:
            raise ConfigError(f"models.{key.model}: model_id {key.model_id!r} is not usable")
        if key.key_file is not None and key.key_label is not None:
            raise ConfigError(f"models.{key.model}: key_file and key_label exclude each other")
        if key.dns:
            from llmseal.trust.dns.record import dns_name_for_key_id

            if dns_name_for_key_id(key.key_id) is None:
                raise ConfigError(
                    f"models.{key.model}: key id {key.key_id!r} has no DNS name"
                    " (use DOMAIN/MODEL/PERIOD, see docs/dns-and-hsm.md)"
                )


def check_one_key_options(**given: str | None) -> None:
    """ConfigError for a one-key option set beside a mapping (``key_id=``, ``model_id=``...).

    One key for everything and one key per model contradict each other; a fixed
    model_id would name every model alike; a weights commitment binds one model.
    """
    for name, value in given.items():
        if value is not None:
            option = "--" + name.replace("_", "-")
            raise ConfigError(f"{option} is for one key; with per-model keys set it per model")


def served_model(endpoint: str, value: Any) -> Any:
    """The model a JSON answer or one stream event names, as given; None if it names none.

    Returned unchecked: a name that cannot be a model id still *is* the answer's
    claim, and must not make the gateway fall back to the requested model.
    """
    if not isinstance(value, dict):
        return None
    found = value.get("model")
    if found is None and endpoint == "/v1/messages":
        found = _nested(value, "message")  # message_start
    elif found is None and endpoint == "/v1/responses":
        found = _nested(value, "response")  # response.created, .in_progress, .completed
    return found


def _nested(value: dict[str, Any], member: str) -> Any:
    inner = value.get(member)
    return inner.get("model") if isinstance(inner, dict) else None
