"""The README's "Fine-tune your own Llama" walkthrough, run as written on a devnet that
``crowdtrain devnet up`` starts: every ``crowdtrain`` command the test runs must appear in that section
verbatim, and its Python snippets and spec are the section's own. A BPE tokenizer trained on the text,
the text prepared into token shards, a transformers Llama imported, fine-tuned as a paid job by
``solver run --once``, its sampled segment attested by a ``verifier run`` daemon, and the result
downloaded with ``--format hf``: transformers loads exactly the committed final weights, and the shipped
tokenizer gives the ids the dataset was prepared with."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import torch
from market_kit import CROWD, REPO, Market, devnet_market, json_line, wait_until

from node.chain.devnet import dev_account
from node.chain.types import JobStatus
from node.storage import LocalBlobStore
from node.training.checkpoint import verify_final_model
from node.training.shards import open_shards, parse_manifest
from node.training.spec import parse_spec

transformers = pytest.importorskip("transformers")

pytestmark = [pytest.mark.chain, pytest.mark.slow]

REWARD, FEE, SOLVER_STAKE, VERIFIER_STAKE = 100 * CROWD, 10 * CROWD, 300 * CROWD, 200 * CROWD


def readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(f"\n{title}\n")
    end = text.index("\n## ", start)
    return text[start:end]


SECTION = readme_section("### Fine-tune your own Llama")
HEREDOCS = [
    textwrap.dedent(body)
    for body in re.findall(r"<<'?EOF'?\n(.*?)\n *EOF\n", SECTION, flags=re.DOTALL)
]
MAKE_CHECKPOINT, SPEC_TEMPLATE, LOAD_MODEL = HEREDOCS


class Walk:
    """Runs the section's commands, in its working folder, refusing any the README does not show."""

    def __init__(self, market: Market, folder: Path) -> None:
        self.market, self.folder = market, folder

    def command(self, args: tuple[str, ...]) -> tuple[str, ...]:
        line = "crowdtrain " + " ".join(args)
        assert line in SECTION, f"the README's walkthrough does not show `{line}`"
        return args

    def __call__(self, key: int | None, *args: str) -> str:
        account = None if key is None else dev_account(key)
        return self.market.cli(account, *self.command(args), cwd=self.folder).stdout

    def spawn(self, key: int, *args: str) -> subprocess.Popen[bytes]:
        log = self.folder / "verifier.log"
        return self.market.spawn(dev_account(key), *self.command(args), log=log, cwd=self.folder)


def test_readme_walkthrough_fine_tunes_a_llama_verified_on_the_devnet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "walk"
    folder.mkdir()
    monkeypatch.chdir(folder)  # the README's Python snippets use relative paths
    sentence = "the miller counts grain while the river turns the wheel and the baker sells bread"
    words = sentence.split(" ")
    text = "\n".join(
        " ".join(words[(i * 7 + j * 3) % len(words)] for j in range(11)) for i in range(300)
    )
    (folder / "my.txt").write_text(text)

    assert "crowdtrain devnet up --challenge-window 30 --reveal-phase 15" in SECTION
    with devnet_market(tmp_path / "home", "--challenge-window", "30", "--reveal-phase", "15") as m:
        p = m.deployer
        assert (p.market.challenge_window(), p.market.reveal_phase()) == (30, 15)
        walk = Walk(m, folder)
        submitter, solver, verifier = (dev_account(k).address for k in (1, 2, 3))
        before = {a: p.token.balance_of(a) for a in (submitter, solver, verifier)}

        walk(None, "data", "tokenizer", "train", "--text", "my.txt", "--vocab-size", "384",
             "--out", "tok/tokenizer.json")  # fmt: skip
        data = walk(1, "data", "prepare", "--text", "my.txt", "--tokenizer", "tok/").strip()
        exec(MAKE_CHECKPOINT, {})
        init = walk(1, "model", "import", "base-model").strip()
        imported = json_line(
            m.cli(None, "model", "import", "base-model", "--json", cwd=folder).stdout
        )
        spec_text = SPEC_TEMPLATE.replace("$DATA", data).replace("$INIT", init)
        (folder / "spec.json").write_text(spec_text)
        spec = parse_spec(json.loads(spec_text))
        assert {**imported["model"], "block_size": 32} == json.loads(spec_text)["model"]  # type: ignore[dict-item]

        walk(1, "job", "submit", "spec.json", "--reward", "100", "--verifier-fee", "10")
        assert p.market.get_job(1).status is JobStatus.OPEN
        walk(3, "verifier", "register", "--stake", "200")
        daemon = walk.spawn(3, "verifier", "run")
        try:
            walk(2, "stake", "300")
            walk(2, "solver", "run", "--once")  # returns once finalized and paid
            wait_until(
                lambda: p.token.balance_of(verifier) == before[verifier] - VERIFIER_STAKE + FEE,
                timeout=60,
                what="the verifier withdrew its fee",
                proc=daemon,
            )
        finally:
            daemon.kill()
            daemon.wait()

        status = walk(None, "job", "status", "1")
        assert re.search(r"^status\s+finalized$", status, flags=re.MULTILINE), status
        job = p.market.get_job(1)
        assert job.status is JobStatus.FINALIZED
        ((attester, _, valid, revealed),) = p.attestations.attesters_of(1, job.attempt)
        assert attester == verifier and revealed
        assert valid == len(p.attestations.assigned_segments(1, verifier)) >= 1
        # Exact pay: the whole fee to the one attester (all its segments valid), the reward to the
        # solver; both stakes free again, nothing left in credit or escrow.
        assert p.token.balance_of(solver) == before[solver] - SOLVER_STAKE + REWARD
        assert p.token.balance_of(verifier) == before[verifier] - VERIFIER_STAKE + FEE
        assert p.token.balance_of(submitter) == before[submitter] - REWARD - FEE
        for account, stake in ((solver, SOLVER_STAKE), (verifier, VERIFIER_STAKE)):
            info = p.registry.stake_of(account)
            assert (info.staked, info.locked, p.market.credit_of(account)) == (stake, 0, 0)
        assert p.market.credit_of(submitter) == 0 and p.market.total_liabilities() == 0
        table = walk(None, "balances", solver, verifier).splitlines()
        assert [row.split()[:2] for row in table[1:]] == [[solver, "999800"], [verifier, "999810"]]

        walk(1, "job", "download", "1", "--format", "hf", "--out", "my-model/")
        exec(LOAD_MODEL, {})  # the README's own loading snippet runs

        folder_hf = folder / "my-model"
        model = transformers.AutoModelForCausalLM.from_pretrained(folder_hf)
        store = LocalBlobStore(m.root / "blobs")
        commitment = p.market.get_commitment(1)
        assert commitment is not None
        manifest = json.loads((folder_hf / "manifest.json").read_text())
        final = verify_final_model(
            spec, store.get(manifest["checkpoints"][-1]["address"]), commitment.final_state_hash
        )
        for name, tensor in model.state_dict().items():
            assert torch.equal(tensor, final.params[name]), name

        tokenizer = transformers.AutoTokenizer.from_pretrained(folder_hf)
        dataset = parse_manifest(store.get(data), "dataset")
        total = sum(s.tokens for s in dataset.shards)
        stream = open_shards(dataset, store, vocab_limit=384, what="dataset").read(0, total)
        ids = tokenizer(text, add_special_tokens=False).input_ids
        assert tokenizer.eos_token_id == dataset.eos_id
        assert stream.tolist() == [*ids, dataset.eos_id]  # one document, then EOS
