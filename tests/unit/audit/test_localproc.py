"""Weights in a process of their own: the same answers as in-process, failures as AuditError."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmseal.audit.enrollment.enroll import weight_sources
from llmseal.audit.enrollment.localproc import ProcessRun
from llmseal.audit.replay.envelope import LocalRun
from llmseal.devmodels import smollm2_path
from llmseal.errors import AuditError

BODY = {"messages": [{"role": "user", "content": "How many legs does a spider have?"}],
        "max_tokens": 4, "temperature": 0, "logprobs": True, "top_logprobs": 2}  # fmt: skip
pytestmark = pytest.mark.slow  # starts model processes
SETTING = {"n_batch": 512, "n_threads": 1, "logits_all": True}


def test_a_child_process_answers_like_an_in_process_run() -> None:
    child = ProcessRun(str(smollm2_path()), SETTING, index=2)
    local = LocalRun(str(smollm2_path()), **SETTING)
    try:
        assert child.label == "n_batch=512,threads=1,process=2" and child.kind == "weights"
        got = child.ask("POST", "/v1/chat/completions", BODY).body
        want = local.complete(BODY)
        assert got["choices"][0]["message"] == want["choices"][0]["message"]
        assert got["choices"][0]["logprobs"] == want["choices"][0]["logprobs"]
        with pytest.raises(AuditError):
            child.ask("GET", "/v1/models", None)
        with pytest.raises(AuditError):  # a request llama.cpp refuses: the worker lives on
            child.complete({"messages": "not a list"})
        assert child.complete(BODY)["choices"][0]["message"] == want["choices"][0]["message"]
    finally:
        child.close()
        local.close()
    with pytest.raises(AuditError, match="worker"):
        child.complete(BODY)


def test_weights_that_do_not_load_are_an_audit_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(AuditError, match="did not load"):
        ProcessRun(str(bogus), SETTING)


def test_in_process_runs_skip_a_repeated_setting() -> None:
    same = ({"n_batch": 512, "n_threads": 1}, {"n_batch": 512, "n_threads": 1})
    runs = weight_sources(smollm2_path(), same)
    try:
        assert [r.label for r in runs] == ["n_batch=512,threads=1"]
    finally:
        for run in runs:
            run.close()
