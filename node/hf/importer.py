"""``crowdtrain model import``: a local Hugging Face Llama checkpoint folder into init blobs.

The folder holds ``config.json`` and the weights as ``model.safetensors``, or as shards listed by
``model.safetensors.index.json`` (or, without an index, every ``*.safetensors`` file). Weights are
read with ``safetensors`` only: pickle files (``pytorch_model.bin``, ``*.pt``, ``*.pth``) can run
code when loaded, so a folder that has nothing else is refused with the command that converts it.
Tensors become float32 (bf16/fp16 widen exactly); ``lm_head.weight`` is dropped when the embeddings
are tied (it must then equal them); anything the model has no slot for is an error, except the
RoPE ``inv_freq`` buffers old checkpoints carry (recomputed from ``rope_theta``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import Tensor

from node.errors import SpecError
from node.hf.config import ARCHITECTURE, model_section
from node.storage import BlobStore
from node.training.init_weights import store_init
from node.training.spec import LlamaSpec

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
INDEX_NAME = "model.safetensors.index.json"
_IGNORED = re.compile(r"^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$")
_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class ImportResult:
    """The init manifest's address and the model section a spec using it should carry."""

    address: str
    model: dict[str, Any]
    tensors: int
    parameters: int
    source_dtypes: tuple[str, ...]


def expected_shapes(model: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """``LlamaForCausalLM``'s state-dict keys and shapes for a model section (``[out, in]``)."""
    d, inter, v = model["hidden_size"], model["intermediate_size"], model["vocab_size"]
    hd = d // model["num_attention_heads"]
    q, kv = model["num_attention_heads"] * hd, model["num_key_value_heads"] * hd
    shapes: dict[str, tuple[int, ...]] = {
        "model.embed_tokens.weight": (v, d),
        "model.norm.weight": (d,),
    }
    if not model["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (v, d)
    for i in range(model["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes |= {
            p + "self_attn.q_proj.weight": (q, d),
            p + "self_attn.k_proj.weight": (kv, d),
            p + "self_attn.v_proj.weight": (kv, d),
            p + "self_attn.o_proj.weight": (d, q),
            p + "mlp.gate_proj.weight": (inter, d),
            p + "mlp.up_proj.weight": (inter, d),
            p + "mlp.down_proj.weight": (d, inter),
            p + "input_layernorm.weight": (d,),
            p + "post_attention_layernorm.weight": (d,),
        }
    return dict(sorted(shapes.items()))


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    try:
        config = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as err:
        raise SpecError(f"cannot read {path}: {err.strerror or err}") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise SpecError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise SpecError(f"{path} must be a JSON object")
    return config


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files holding the weights; SpecError for pickle-only or empty folders."""
    index = folder / INDEX_NAME
    if index.is_file():
        try:
            weight_map = json.loads(index.read_bytes().decode("utf-8"))["weight_map"]
            names = sorted(set(weight_map.values()))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            raise SpecError(f"{index} is not a safetensors index (no 'weight_map')") from None
        files = []
        for name in names:
            path = folder / name
            if not isinstance(name, str) or "/" in name or not name.endswith(".safetensors"):
                raise SpecError(f"{index}: shard name {name!r} is not a .safetensors file here")
            if not path.is_file():
                raise SpecError(f"{index} lists {name}, which is missing")
            files.append(path)
        return files
    files = sorted(folder.glob("*.safetensors"))
    if files:
        return files
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise SpecError(
            f"{folder} holds only pickle weights ({', '.join(pickles)}), which crowdtrain never "
            "loads (unpickling can run code): convert them to safetensors first, e.g. "
            "AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(OUT) in transformers"
        )
    raise SpecError(f"{folder} holds no *.safetensors weights")


def read_weights(files: list[Path]) -> tuple[dict[str, Tensor], set[str]]:
    """Every tensor of ``files`` as float32, and the source dtypes; SpecError on duplicates."""
    from safetensors import SafetensorError, safe_open

    tensors: dict[str, Tensor] = {}
    dtypes: set[str] = set()
    for path in files:
        try:
            with safe_open(str(path), framework="pt") as f:
                for name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                    if name in tensors:
                        raise SpecError(f"tensor {name!r} appears in more than one shard")
                    t = f.get_tensor(name)
                    if t.dtype not in _DTYPES:
                        raise SpecError(f"{path.name}: {name!r} has unsupported dtype {t.dtype}")
                    dtypes.add(str(t.dtype).removeprefix("torch."))
                    tensors[name] = t.to(torch.float32)
        except (SafetensorError, OSError) as err:
            raise SpecError(f"{path} is not a readable safetensors file: {err}") from None
    return tensors, dtypes


def import_checkpoint(folder: Path | str, store: BlobStore) -> ImportResult:
    """Pack the checkpoint in ``folder`` into ``store``; nothing is stored when it is refused."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError(f"{folder} is not a folder (expected a Hugging Face checkpoint folder)")
    model = model_section(read_config(folder), str(folder / "config.json"))
    try:
        LlamaSpec.model_validate(model)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise SpecError(
            f"{folder / 'config.json'}: {where + ': ' if where else ''}{message}"
        ) from None
    tensors, dtypes = read_weights(weight_files(folder))
    for name in [n for n in tensors if _IGNORED.match(n)]:
        del tensors[name]
    shapes = expected_shapes(model)
    if model["tie_word_embeddings"] and "lm_head.weight" in tensors:
        head = tensors.pop("lm_head.weight")
        if not torch.equal(head, tensors.get("model.embed_tokens.weight", head)):
            raise SpecError(
                "tie_word_embeddings is true but lm_head.weight differs from the embeddings"
            )
    missing, extra = sorted(set(shapes) - set(tensors)), sorted(set(tensors) - set(shapes))
    if missing or extra:
        raise SpecError(
            f"{folder}: weights do not fit config.json (missing {missing[:5]}, "
            f"unexpected {extra[:5]})"
        )
    for name, shape in shapes.items():
        if tuple(tensors[name].shape) != shape:
            raise SpecError(
                f"{folder}: {name} has shape {list(tensors[name].shape)}, config.json implies "
                f"{list(shape)}"
            )
        if not bool(torch.isfinite(tensors[name]).all()):
            raise SpecError(f"{folder}: {name} holds NaN or infinite values")
    address = store_init(store, ARCHITECTURE, model, tensors)
    return ImportResult(
        address=address,
        model=model,
        tensors=len(tensors),
        parameters=sum(t.numel() for t in tensors.values()),
        source_dtypes=tuple(sorted(dtypes)),
    )
