"""A job on your own text end to end: a ``token-shards`` dataset (BPE tokenizer, several shards)
is solved by the solver daemon and its assigned segments replayed and attested by a verifier
reading the same shards by range; the committed manifest carries the validation loss of each checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_dispute_kit import World
from eth_account.signers.local import LocalAccount
from market_kit import Market

from node.chain.types import JobStatus
from node.storage import LocalBlobStore
from node.trace.manifest import parse_manifest
from node.training.prepare import Source, prepare_dataset
from node.training.spec import parse_spec
from node.training.text_tokenizer import load_tokenizer, train_bpe

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_token_shards_job_is_solved_verified_and_reports_validation_loss(
    market: Market, dev_accounts: list[LocalAccount], tmp_path: Path
) -> None:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    world.add_verifier("v1", dev_accounts[3], check_all=True)
    world.start_solver(world.add_solver(dev_accounts[2], 200 * 10**18))
    text = tmp_path / "corpus.txt"
    text.write_text("the miller counts the grain; the river turns the wheel.\n" * 200)
    train_bpe([text], 300, tmp_path / "tok" / "tokenizer.json")
    dataset = prepare_dataset(
        [Source("text", text)],
        load_tokenizer(str(tmp_path / "tok")),
        world.store,
        name="corpus",
        validation_fraction=0.1,
        shard_tokens=300,
        progress=False,
    )
    assert len(dataset.manifest.shards) > 2
    spec = parse_spec(
        {
            "model": {"architecture": "gpt", "vocab_size": 320, "block_size": 16,
                      "n_layer": 1, "n_head": 2, "n_embd": 16},
            "dataset": {"address": dataset.address, "format": "token-shards"},
            "optimizer": {"name": "adamw", "lr": 0.003},
            "batch_size": 4, "steps": 12, "checkpoint_every": 4, "seed": 11,
        }
    )  # fmt: skip
    world.store.put(spec.canonical_json())
    p = world.p

    job_id = world.post(spec)
    world.drive(lambda: p.market.get_job(job_id).status is JobStatus.FINALIZED, what="finalized")

    job = p.market.get_job(job_id)
    ((account, _, valid, revealed),) = p.attestations.attesters_of(job_id, job.attempt)
    assigned = p.attestations.assigned_segments(job_id, account)
    assert revealed and valid == len(assigned) >= 1  # replayed from the shards: all valid
    committed = p.market.get_commitment(job_id)
    assert committed is not None
    manifest = parse_manifest(world.store.get("sha256:" + committed.manifest_hash.hex()))
    vals = [c.validation_loss for c in manifest.checkpoints]
    assert len(vals) == 4 and all(v is not None for v in vals)
    world.solvency()
