"""``model import`` → init blobs → state(0) → HF folder: exact at step 0, refusals named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from node.errors import SpecError, StorageError
from node.hf.export import export_model
from node.hf.importer import import_checkpoint
from node.storage import LocalBlobStore
from node.trace.state import state_hash
from node.training.checkpoint import load_checkpoint
from node.training.data import load_dataset
from node.training.init_weights import store_init
from node.training.session import TrainingSession
from node.training.trainer import train
from verifier.evidence import ManifestView
from verifier.replay import Verdict, initial_state_ok, judge_segment, replay_segment

from .hf_kit import init_spec, save, state_dict, tiny_llama, transformers


@pytest.mark.parametrize("tied", [False, True])
def test_import_then_export_at_step_0_is_exact(
    tied: bool, tmp_path: Path, store: LocalBlobStore
) -> None:
    hf = tiny_llama(tied=tied)
    original = state_dict(hf)
    result = import_checkpoint(save(hf, tmp_path / "in"), store)
    assert result.tensors == len(original) and result.source_dtypes == ("float32",)
    spec = init_spec(result.model, result.address)
    assert json.loads(spec.canonical_json())["init"] == {"address": result.address}

    state = TrainingSession(spec, None, store=store).initial_state()
    assert sorted(state.params) == sorted(original)
    for name, t in original.items():
        assert torch.equal(state.params[name], t), name

    out = export_model(spec, state.params, store, tmp_path / "out")
    assert sorted(load_file(out / "model.safetensors")) == sorted(original)
    for name, t in load_file(out / "model.safetensors").items():
        assert torch.equal(t, original[name]), name
    back = transformers.AutoModelForCausalLM.from_pretrained(out)
    assert back.config.tie_word_embeddings is tied
    for name, t in state_dict(back).items():
        assert torch.equal(t, original[name]), name


def test_initial_state_is_the_imported_weights(tmp_path: Path, store: LocalBlobStore) -> None:
    """state(0) and its hash come from the weights: another checkpoint, another initial state;
    a checkpoint of the job reads back without the weights (layout from the spec alone)."""
    a = import_checkpoint(save(tiny_llama(seed=0), tmp_path / "a"), store)
    b = import_checkpoint(save(tiny_llama(seed=1), tmp_path / "b"), store)
    spec_a, spec_b = init_spec(a.model, a.address), init_spec(b.model, b.address)
    s_a = TrainingSession(spec_a, None, store=store).initial_state()
    s_b = TrainingSession(spec_b, None, store=store).initial_state()
    assert state_hash(s_a) != state_hash(s_b)
    seeded = TrainingSession(spec_a, None, store=store)
    assert state_hash(seeded.initial_state()) == state_hash(s_a)  # a pure function of the spec
    from node.trace.state import encode_state

    blob, h = encode_state(s_a)
    decoded, got = load_checkpoint(spec_a, blob, h)
    assert got == h and all(torch.equal(decoded.params[n], s_a.params[n]) for n in s_a.params)
    with pytest.raises(SpecError, match="need a blob store"):
        TrainingSession(spec_a, None).initial_state()


def test_sharded_and_single_file_imports_give_the_same_address(
    tmp_path: Path, store: LocalBlobStore
) -> None:
    hf = tiny_llama()
    single = import_checkpoint(save(hf, tmp_path / "one"), store)
    sharded_dir = save(hf, tmp_path / "many", shard="20KB")
    assert (sharded_dir / "model.safetensors.index.json").is_file()
    assert len(list(sharded_dir.glob("*.safetensors"))) > 2
    assert import_checkpoint(sharded_dir, store).address == single.address


def test_bf16_checkpoints_widen_exactly(tmp_path: Path, store: LocalBlobStore) -> None:
    hf = tiny_llama().to(torch.bfloat16)
    result = import_checkpoint(save(hf, tmp_path / "bf16"), store)
    assert result.source_dtypes == ("bfloat16",)
    state = TrainingSession(init_spec(result.model, result.address), None, store=store)
    params = state.initial_state().params
    for name, t in state_dict(hf).items():
        assert params[name].dtype == torch.float32 and torch.equal(params[name], t.float())


def test_pickle_and_broken_folders_are_refused(tmp_path: Path, store: LocalBlobStore) -> None:
    folder = save(tiny_llama(), tmp_path / "m")
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04 not unpickled, ever")
    with pytest.raises(SpecError, match=r"only pickle weights \(pytorch_model.bin\).*never loads"):
        import_checkpoint(folder, store)
    (folder / "pytorch_model.bin").unlink()
    with pytest.raises(SpecError, match=r"holds no \*\.safetensors weights"):
        import_checkpoint(folder, store)
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(SpecError, match="not a readable safetensors file"):
        import_checkpoint(folder, store)
    with pytest.raises(SpecError, match=r"cannot read .*config\.json"):
        import_checkpoint(tmp_path / "blobs", store)
    with pytest.raises(SpecError, match="is not a folder"):
        import_checkpoint(tmp_path / "nowhere", store)


def test_weights_that_do_not_fit_the_config_are_refused(
    tmp_path: Path, store: LocalBlobStore
) -> None:
    folder = save(tiny_llama(), tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "intermediate_size": 40}))
    with pytest.raises(SpecError, match=r"mlp.down_proj.weight has shape \[32, 48\], config.json"):
        import_checkpoint(folder, store)
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(SpecError, match=r"missing \['model.layers.2"):
        import_checkpoint(folder, store)
    (folder / "config.json").write_text(
        json.dumps({**config, "rope_parameters": {"rope_theta": 1e12}})
    )
    with pytest.raises(SpecError, match="rope_theta"):
        import_checkpoint(folder, store)


def test_non_finite_or_non_float_weights_are_refused(tmp_path: Path, store: LocalBlobStore) -> None:
    folder = save(tiny_llama(), tmp_path / "m")
    weights = load_file(folder / "model.safetensors")
    nan = {**weights, "model.norm.weight": torch.full((32,), float("nan"))}
    save_file(nan, folder / "model.safetensors", metadata={"format": "pt"})
    before = sorted(p.name for p in store.root.rglob("*") if p.is_file())
    with pytest.raises(SpecError, match=r"model\.safetensors: model\.norm\.weight holds NaN"):
        import_checkpoint(folder, store)
    stored = [p for p in store.root.rglob("*") if p.is_file() and p.name not in before]
    assert not [p for p in stored if p.read_bytes().startswith(b"{")]  # no manifest written
    ints = {**weights, "model.norm.weight": torch.ones(32, dtype=torch.int64)}
    save_file(ints, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(SpecError, match=r"'model\.norm\.weight' has unsupported dtype I64"):
        import_checkpoint(folder, store)


def test_a_spec_that_disagrees_with_its_weights_is_refused(
    tmp_path: Path, store: LocalBlobStore
) -> None:
    result = import_checkpoint(save(tiny_llama(), tmp_path / "m"), store)
    other = {**result.model, "rope_theta": 10000.0}
    with pytest.raises(SpecError, match=r"model\.rope_theta is 10000\.0 but the init weights"):
        TrainingSession(init_spec(other, result.address), None, store=store).initial_state()
    wider = {**result.model, "hidden_size": 64}
    with pytest.raises(SpecError, match=r"model\.hidden_size is 64"):
        TrainingSession(init_spec(wider, result.address), None, store=store).initial_state()
    gpt_weights = store_init(store, "gpt", {}, {"x": torch.zeros(2)})
    with pytest.raises(SpecError, match="holds 'gpt' weights, the spec's model is 'llama'"):
        TrainingSession(init_spec(result.model, gpt_weights), None, store=store).initial_state()
    nan = store_init(
        store,
        "llama",
        {},
        {
            **TrainingSession(init_spec(result.model, result.address), None, store=store)
            .initial_state()
            .params,
            "model.norm.weight": torch.full((32,), float("nan")),
        },
    )
    with pytest.raises(SpecError, match=r"'model\.norm\.weight' holds NaN"):
        TrainingSession(init_spec(result.model, nan), None, store=store).initial_state()
    not_a_manifest = store.put(b'{"format": "token-shards"}')
    with pytest.raises(SpecError, match="is not an init manifest"):
        TrainingSession(init_spec(result.model, not_a_manifest), None, store=store).initial_state()
    missing = "sha256:" + "0" * 64
    with pytest.raises(StorageError):
        TrainingSession(init_spec(result.model, missing), None, store=store).initial_state()


def test_export_refuses_a_non_empty_folder_and_writes_nothing(
    tmp_path: Path, store: LocalBlobStore
) -> None:
    result = import_checkpoint(save(tiny_llama(), tmp_path / "m"), store)
    spec = init_spec(result.model, result.address)
    params = TrainingSession(spec, None, store=store).initial_state().params
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(SpecError, match="exists and is not an empty folder"):
        export_model(spec, params, store, taken)
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    sharded = export_model(spec, params, store, tmp_path / "sharded", shard_bytes=20_000)
    index = json.loads((sharded / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(params)
    back = transformers.AutoModelForCausalLM.from_pretrained(sharded)
    assert all(torch.equal(t, params[n]) for n, t in state_dict(back).items())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_verifier_checks_the_initial_state_and_replays_from_the_weights(
    tmp_path: Path, store: LocalBlobStore
) -> None:
    """The verifier's initial-state check and segment replay use the imported weights: the
    solver's trace matches, and the same trace against other weights fails the check."""

    ours = import_checkpoint(save(tiny_llama(seed=0), tmp_path / "a"), store)
    other = import_checkpoint(save(tiny_llama(seed=1), tmp_path / "b"), store)
    spec = init_spec(ours.model, ours.address, runtime="repro-v1")
    result = train(spec, store=store, work_dir=tmp_path / "w", job_id=1, attempt=0, threads=1)
    view = ManifestView(result.manifest)
    session = TrainingSession(spec, load_dataset(spec, store), store=store)
    assert initial_state_ok(session, view)
    replay = replay_segment(session, session.initial_state(), job_id=1, attempt=0, segment=1)
    assert judge_segment(replay, view) is Verdict.MATCH
    swapped = init_spec(ours.model, other.address, runtime="repro-v1")
    assert not initial_state_ok(TrainingSession(swapped, None, store=store), view)
