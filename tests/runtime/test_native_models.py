"""Native ops, models built from ``Ops`` and the primitive-op optimizer."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from node.errors import SpecError
from node.runtime import get_ops, optim
from node.runtime.models import StepContext, build_model, initial_parameters
from node.runtime.native import NativeOps
from node.runtime.rng import RngKey

KEY = RngKey.from_seed(0)
OPS = NativeOps()


@pytest.mark.parametrize(
    ("arch", "hparams", "x", "y"),
    [
        ("mlp", {"hidden": [16, 8]}, torch.rand(4, 64), torch.tensor([0, 1, 2, 3])),
        ("cnn", {"channels": [4, 8]}, torch.rand(4, 64), torch.tensor([0, 1, 2, 9])),
        (
            "gpt",
            {
                "vocab_size": 11,
                "block_size": 8,
                "n_layer": 1,
                "n_head": 2,
                "n_embd": 16,
                "dropout": 0.1,
            },
            torch.randint(0, 11, (2, 8)),
            torch.randint(0, 11, (2, 8)),
        ),
        *(
            (
                "llama",
                {
                    "vocab_size": 11,
                    "hidden_size": 16,
                    "intermediate_size": 24,
                    "num_hidden_layers": 1,
                    "num_attention_heads": 4,
                    "num_key_value_heads": kv,
                    "block_size": 8,
                    "tie_word_embeddings": tied,
                },
                torch.randint(0, 11, (2, 8)),
                torch.randint(0, 11, (2, 8)),
            )
            for kv, tied in ((1, True), (2, False), (4, False))
        ),
    ],
)
def test_models_train_and_every_parameter_gets_a_gradient(
    arch: str, hparams: dict[str, object], x: torch.Tensor, y: torch.Tensor
) -> None:
    model = build_model(arch, hparams, OPS)
    params = initial_parameters(model, KEY)
    assert params == dict(sorted(params.items()))
    assert set(params) == {n for n, _ in model.named_parameters()}
    again = initial_parameters(build_model(arch, hparams, OPS), KEY)
    assert all(torch.equal(params[n], again[n]) for n in params)
    leaves = {n: p.clone().requires_grad_(True) for n, p in params.items()}
    loss = functional_call(model, leaves, (x, y, StepContext(KEY, 1)))
    grads = torch.autograd.grad(loss, list(leaves.values()))
    assert torch.isfinite(loss) and all(torch.isfinite(g).all() for g in grads)
    assert all(g.abs().sum() > 0 for g in grads)


def _reference(kind: str, p0: torch.Tensor, grads: list[torch.Tensor]) -> torch.Tensor:
    p = p0.clone().requires_grad_(True)
    opt: torch.optim.Optimizer
    if kind == "adamw":
        opt = torch.optim.AdamW([p], lr=0.01, betas=(0.9, 0.99), weight_decay=0.1, eps=1e-8)
    else:
        opt = torch.optim.SGD([p], lr=0.01, momentum=0.9, weight_decay=0.1)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return p.detach()


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
def test_optimizer_matches_torch_optim(kind: str) -> None:
    gen = torch.Generator().manual_seed(0)
    p0 = torch.randn(5, 7, generator=gen)
    grads = [torch.randn(5, 7, generator=gen) for _ in range(5)]
    config = optim.OptimizerConfig(name=kind, lr=0.01, weight_decay=0.1, betas=(0.9, 0.99))
    params, state = {"w": p0}, optim.initial_state(config, {"w": p0})
    for g in grads:
        params, state = optim.step(OPS, config, params, {"w": g}, state)
    torch.testing.assert_close(params["w"], _reference(kind, p0, grads), rtol=1e-5, atol=1e-6)


def test_clip_by_global_norm() -> None:
    grads = {"a": torch.full((3,), 3.0), "b": torch.full((4,), 4.0)}
    clipped = optim.clip_by_global_norm(OPS, grads, 1.0)
    norm = torch.sqrt(sum((g * g).sum() for g in clipped.values()))  # type: ignore[arg-type]
    assert abs(float(norm) - 1.0) < 1e-5
    small = optim.clip_by_global_norm(OPS, {"a": torch.tensor([0.1])}, 1.0)
    assert torch.equal(small["a"], torch.tensor([0.1]))


def test_runtime_registry() -> None:
    assert get_ops("native").name == "native"
    with pytest.raises(SpecError, match="unknown runtime"):
        get_ops("tpu")
    try:
        import node.runtime.repro  # noqa: F401
    except ImportError:
        with pytest.raises(SpecError, match="runtime repro-v1 is not available"):
            get_ops("repro-v1")


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("runtime", ["native", "repro-v1"])
def test_llama_matches_transformers_llama_for_causal_lm(runtime: str, tied: bool) -> None:
    """Hugging Face's parameter names and math: its weights, loaded by name, give its logits."""
    transformers = pytest.importorskip("transformers")
    shape = {
        "vocab_size": 37,
        "hidden_size": 32,
        "intermediate_size": 88,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 16,
        "rope_theta": 500000.0,
        "rms_norm_eps": 1e-5,
        "tie_word_embeddings": tied,
    }
    torch.manual_seed(0)
    config = transformers.LlamaConfig(**shape, attn_implementation="eager")
    reference = transformers.LlamaForCausalLM(config).eval()
    x = torch.randint(0, 37, (2, 16))
    with torch.no_grad():
        want = reference(x).logits
    model = build_model("llama", {**shape, "block_size": 16}, get_ops(runtime))
    ours = {n for n, _ in model.named_parameters()}
    hf_names = set(reference.state_dict()) - ({"lm_head.weight"} if tied else set())
    assert ours == hf_names
    model.load_state_dict({n: reference.state_dict()[n] for n in ours}, strict=False)
    with torch.no_grad():
        got = model.logits(x)  # type: ignore[operator]
    assert (got - want).abs().max().item() < 1e-5
