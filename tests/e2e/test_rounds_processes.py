"""A rounds job (W = 3, R = 2) run by separate OS processes, as operators would run it: three
``crowdtrain solver run`` daemons and one ``crowdtrain verifier run`` on one devnet (Anvil mining a
block a second, short windows, nothing advanced by hand). The daemons are started together, so
they race for the same oldest open unit: a lost claim must cost its solver nothing but the next
unit. The job finishes with every unit included, every party's balance exact to the wei, and every
unit replayed bit for bit by this process from the state 0 the chain implies."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from e2e_dispute_kit import FEE, REWARD, World
from market_kit import CLI, REPO, Market, devnet_market, json_line, wait_until
from rounds_run_kit import (
    RoundsRun,
    check_books,
    pay_finalized_units,
    replay_every_unit,
    tiny_rounds_spec,
)

from node.chain.devnet import dev_account
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]

CROWD = 10**18
WINDOW, REVEAL = 15, 5
SOLVERS = (2, 3, 4)  # dev accounts; 1 is the submitter, 5 the verifier
VERIFIER = 5
POLL = "1"
"""seconds between a daemon's passes: the devnet mines a block a second, and four daemons polling
faster only load a shared 2-core machine."""


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _set_up(market: Market) -> None:
    """Stakes and the verifier's registration through the CLI, side by side (different accounts,
    so no nonce is shared)."""
    steps = [(dev_account(k), ("stake", str(2 * REWARD // CROWD))) for k in SOLVERS]
    steps += [(dev_account(VERIFIER), ("verifier", "register", "--stake", "200"))]
    running = [
        subprocess.Popen(
            [*CLI, *args],
            env=market.env(account),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for account, args in steps
    ]
    for proc, (_, args) in zip(running, steps, strict=True):
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"crowdtrain {' '.join(args)}:\n{out.decode()}"


def test_a_rounds_job_run_by_solver_and_verifier_processes_finishes_with_exact_balances(
    tmp_path: Path,
) -> None:
    up = ("--challenge-window", str(WINDOW), "--reveal-phase", str(REVEAL))
    with devnet_market(tmp_path / "home", *up) as market:
        world = World(market, LocalBlobStore(market.root / "blobs"))
        p = world.p
        spec = tiny_rounds_spec(world.store, workers=3, rounds=2, quorum=2)  # with its dataset
        spec_file = tmp_path / "rounds.json"
        spec_file.write_bytes(spec.canonical_json())
        _set_up(market)
        solvers = [dev_account(k) for k in SOLVERS]
        verifier = dev_account(VERIFIER)
        parties = [market.submitter.address, verifier.address, *(s.address for s in solvers)]
        before = {a: world.wealth(a) for a in parties}

        logs = tmp_path / "logs"
        logs.mkdir()
        procs = [
            market.spawn(
                verifier,
                "verifier", "run",
                log=logs / "verifier.log",
                CROWDTRAIN_DATA_DIR=str(market.root / "verifier"),
                CROWDTRAIN_POLL_INTERVAL=POLL,
            )
        ]  # fmt: skip
        try:
            posted = json_line(
                market.cli(
                    market.submitter,
                    "rounds", "post", str(spec_file),
                    "--unit-reward", str(REWARD // CROWD),
                    "--unit-verifier-fee", str(FEE // CROWD),
                    "--solve-timeout", "120", "--round-timeout", "600",
                    "--json",
                ).stdout
            )  # fmt: skip
            run = RoundsRun(world, spec, int(posted["rounds_id"]))  # type: ignore[call-overload]
            for k, account in zip(SOLVERS, solvers, strict=True):
                procs.append(
                    market.spawn(
                        account,
                        "solver", "run",
                        log=logs / f"solver-{k}.log",
                        CROWDTRAIN_DATA_DIR=str(market.root / f"solver-{k}"),
                        CROWDTRAIN_POLL_INTERVAL=POLL,
                    )
                )  # fmt: skip

            def finished() -> bool:
                for proc in procs:
                    assert proc.poll() is None, f"a daemon exited ({proc.returncode})"
                return run.status() == "FINISHED"

            try:
                wait_until(finished, timeout=300, what="the rounds job finished")
            except AssertionError as err:  # the daemons' own words say why
                text = "\n".join(f"--- {f.name}\n{f.read_text()}" for f in sorted(logs.iterdir()))
                raise AssertionError(f"{err}\n{text}") from err
        finally:
            _stop(procs)

        assert run.included(0) == [0, 1, 2] and run.included(1) == [0, 1, 2]
        units = [p.market.get_job(j) for j in run.units()]
        assert len(units) == 6 and all(u.status is JobStatus.FINALIZED for u in units)
        assert {u.solver for u in units} <= {s.address for s in solvers}
        expected = dict.fromkeys(parties, 0)
        expected[market.submitter.address] = -6 * (REWARD + FEE)
        pay_finalized_units(world, run, expected)
        check_books(world, before, expected)
        replay_every_unit(world, run)
