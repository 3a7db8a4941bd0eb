"""``crowdtrain model import``: a local Hugging Face Llama checkpoint folder into init blobs.

The folder holds ``config.json`` and the weights as ``model.safetensors``, or as shards listed by
``model.safetensors.index.json`` (or, without an index, every ``*.safetensors`` file). Weights are
read with ``safetensors`` only: pickle files (``pytorch_model.bin``, ``*.pt``, ``*.pth``) can run
code when loaded, so a folder that has nothing else is refused with the command that converts it.
Tensors become float32 (bf16/fp16 widen exactly); ``lm_head.weight`` is dropped when the embeddings
are tied (it must then equal them); anything the model has no slot for is an error, except the
RoPE ``inv_freq`` buffers old checkpoints carry (recomputed from ``rope_theta``). Names, shapes
and dtypes are checked from the file headers first; the data is then read tensor by tensor as the
blobs are written, so peak memory is one blob (``BLOB_BYTES``), not the model.
"""

from __future__ import annotations

import json
import math
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
from node.training.init_weights import store_weights
from node.training.spec import LlamaSpec

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
INDEX_NAME = "model.safetensors.index.json"
_IGNORED = re.compile(r"^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$")
_SOURCE_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


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


@dataclass(frozen=True)
class WeightIndex:
    """Where each tensor of a checkpoint lives, its shape and source dtype (no data read yet)."""

    files: dict[str, Path]
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, str]

    def load(self, name: str) -> Tensor:
        """Tensor ``name`` as float32 (bf16/fp16 widen exactly); SpecError if not finite."""
        from safetensors import SafetensorError, safe_open

        path = self.files[name]
        try:
            with safe_open(str(path), framework="pt") as f:
                tensor: Tensor = f.get_tensor(name).to(torch.float32)
        except (SafetensorError, OSError) as err:
            raise SpecError(f"{path} is not a readable safetensors file: {err}") from None
        if not bool(torch.isfinite(tensor).all()):
            raise SpecError(f"{path.name}: {name} holds NaN or infinite values")
        return tensor


def index_weights(files: list[Path]) -> WeightIndex:
    """Names, shapes and dtypes of every tensor in ``files`` (headers only); SpecError on a
    duplicate name, an unsupported dtype or a file that is not safetensors."""
    from safetensors import SafetensorError, safe_open

    index = WeightIndex({}, {}, {})
    for path in files:
        try:
            with safe_open(str(path), framework="pt") as f:
                for name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                    if name in index.files:
                        raise SpecError(f"tensor {name!r} appears in more than one shard")
                    view = f.get_slice(name)
                    dtype = _SOURCE_DTYPES.get(view.get_dtype())
                    if dtype is None:
                        raise SpecError(
                            f"{path.name}: {name!r} has unsupported dtype {view.get_dtype()} "
                            f"(supported: {', '.join(_SOURCE_DTYPES)})"
                        )
                    index.files[name] = path
                    index.shapes[name] = tuple(view.get_shape())
                    index.dtypes[name] = dtype
        except (SafetensorError, OSError) as err:
            raise SpecError(f"{path} is not a readable safetensors file: {err}") from None
    return index


def import_checkpoint(folder: Path | str, store: BlobStore) -> ImportResult:
    """Pack the checkpoint in ``folder`` into ``store``, one blob at a time; the manifest (the
    address a spec names) is only stored once every tensor passed its checks."""
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
    index = index_weights(weight_files(folder))
    present = {n: s for n, s in index.shapes.items() if not _IGNORED.match(n)}
    shapes = expected_shapes(model)
    if model["tie_word_embeddings"] and "lm_head.weight" in present:
        del present["lm_head.weight"]
        if not torch.equal(index.load("lm_head.weight"), index.load("model.embed_tokens.weight")):
            raise SpecError(
                "tie_word_embeddings is true but lm_head.weight differs from the embeddings"
            )
    missing, extra = sorted(set(shapes) - set(present)), sorted(set(present) - set(shapes))
    if missing or extra:
        raise SpecError(
            f"{folder}: weights do not fit config.json (missing {missing[:5]}, "
            f"unexpected {extra[:5]})"
        )
    for name, shape in shapes.items():
        if present[name] != shape:
            raise SpecError(
                f"{folder}: {name} has shape {list(present[name])}, config.json implies "
                f"{list(shape)}"
            )
    address = store_weights(store, ARCHITECTURE, model, shapes, index.load)
    return ImportResult(
        address=address,
        model=model,
        tensors=len(shapes),
        parameters=sum(math.prod(s) for s in shapes.values()),
        source_dtypes=tuple(sorted({index.dtypes[n] for n in shapes})),
    )
