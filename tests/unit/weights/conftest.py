"""A small GGUF made with gguf's own writer: metadata, a chat template, mixed tensor types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TENSORS = {
    "token_embd.weight": (64, 96),
    "blk.0.attn_norm.weight": (96,),
    "blk.0.ffn_down.weight": (96, 128),
    "output_norm.weight": (96,),
}


def write_gguf(path: Path, *, template: str = "{{ messages }}", seed: int = 7) -> Path:
    import gguf

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny test model")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([f"tok{i}" for i in range(300)])
    writer.add_chat_template(template)
    for name, shape in TENSORS.items():
        dtype = np.float16 if name.endswith("ffn_down.weight") else np.float32
        writer.add_tensor(name, rng.standard_normal(shape).astype(dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.gguf")
