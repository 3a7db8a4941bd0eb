"""Helpers of the dispute-path tests: an exact ledger of every party, failed transactions that must
change nothing, a trace whose step tree contradicts its checkpoints, and one jury round with its
receipts (so a test can follow a tie into the re-draw)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chain_dispute_kit import (
    JURY,
    PHASE,
    FullTrace,
    bisect,
    challenge,
    commit_full,
    vote_commitment,
)
from eth_abi import encode as abi_encode
from protocol_kit import DEAD, ETHER, JURY_COMMIT_PHASE, JURY_REVEAL_PHASE, SEED_DELAY
from protocol_world import World
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from node.trace.merkle import MerkleTree, segment_leaf, step_leaf

REWARD = 10 * ETHER
LOCK = 100 * ETHER  # max(minSolverStake, 2 x reward)
BOND = 10 * ETHER  # max(minChallengeBond, reward / 10)
CHALLENGE_FEE = BOND // 2  # challengeFeeBps = 5000 of the bond, burned per revealed challenge
FEE = REWARD // 100  # per juror (jurorFeeBps = 100)
VERIFIER_STAKE = 200 * ETHER
VOTE_SALT = b"\x05" * 32

# IDisputeGame.Dispute field indexes (beyond those of chain_dispute_kit)
KIND, TARGET, SOLVER_CLOCK, CHALLENGER_CLOCK, OPENED_AT, LAST_MOVE_AT = 3, 4, 7, 8, 17, 18
# IDisputeGame.Kind, .Target and .Outcome
SEGMENT, INITIAL_STATE, AVAILABILITY = 0, 1, 2
CHECKPOINT, MANIFEST, FINAL_MODEL, DATASET = 1, 2, 3, 4
SOLVER_WRONG, CHALLENGER_WRONG = 1, 2
# IJury.Panel field indexes and IJury.Phase values
P_PHASE, P_ROUND, P_SIZE, P_SEED_BLOCK, P_SNAPSHOT = 0, 1, 2, 6, 7
SEED_PHASE, DONE_PHASE = 1, 4


# --- every party's balances, exactly ---


@dataclass
class Changes:
    """Expected changes per account: token balance, JobMarket credit, staked and locked stake."""

    balance: Counter[str] = field(default_factory=Counter)
    credit: Counter[str] = field(default_factory=Counter)
    staked: Counter[str] = field(default_factory=Counter)
    locked: Counter[str] = field(default_factory=Counter)
    burned: int = 0

    def slash(self, account: str, amount: int) -> None:
        """``amount`` of ``account``'s stake leaves it (paid on or burned: the caller says which)."""
        self.staked[account] -= amount


@dataclass
class Ledger:
    """Balances of every account of the world and of the burn address, to compare after a path."""

    world: World
    before: dict[str, tuple[int, int, int, int]]
    dead: int

    @staticmethod
    def _row(world: World, account: str) -> tuple[int, int, int, int]:
        staked, locked, _, _ = world.stake_info(account)
        return world.balance(account), world.credit(account), staked, locked

    @classmethod
    def take(cls, world: World) -> Ledger:
        rows = {a: cls._row(world, a) for a in world.accounts}
        return cls(world, rows, world.balance(DEAD))

    def assert_changes(self, expected: Changes) -> None:
        """Every account changed exactly as ``expected`` says (unnamed accounts: not at all), and
        exactly ``expected.burned`` went to the burn address."""
        wrong = []
        for account, before in self.before.items():
            after = self._row(self.world, account)
            got = tuple(a - b for a, b in zip(after, before, strict=True))
            want = (
                expected.balance[account],
                expected.credit[account],
                expected.staked[account],
                expected.locked[account],
            )
            if got != want:
                wrong.append(f"{account}: (balance, credit, staked, locked) {got} != {want}")
        burned = self.world.balance(DEAD) - self.dead
        if burned != expected.burned:
            wrong.append(f"burned {burned} != {expected.burned}")
        assert not wrong, "\n".join(wrong)


# --- failed moves ---


def send_failing(
    world: World,
    fn: ContractFunction,
    sender: str,
    error: str,
    *args: Any,
    observe: Callable[[], object],
) -> None:
    """``fn`` from ``sender`` reverts with ``error(*args)``; the transaction, really mined, fails
    and leaves ``observe()`` (the dispute, the job, ...) and every balance as they were."""
    world.expect_revert(fn, sender, error, *args)
    seen, ledger = observe(), Ledger.take(world)
    tx_hash = fn.transact({"from": sender, "gas": 5_000_000})
    receipt = world.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 0, f"{fn.fn_name} did not fail"
    assert observe() == seen
    ledger.assert_changes(Changes())
    world.assert_balances_match()


# --- a trace whose step tree contradicts its checkpoint leaves ---


def tamper_steps(trace: FullTrace, segment: int, steps: Mapping[int, bytes]) -> FullTrace:
    """The committed step tree of ``segment`` carries ``steps`` (step → stateHash) instead of the
    trace's hashes; the checkpoint leaves keep the true ones. Returns the rebuilt trace."""
    j, a, k = trace.job_id, trace.attempt, trace.k
    base = (segment - 1) * k
    leaves = [
        step_leaf(j, a, segment, s, steps.get(s, trace.hashes[base + s])) for s in range(k + 1)
    ]
    trace.step_trees[segment] = MerkleTree.build(leaves)
    trace.segments = MerkleTree.build(
        [segment_leaf(j, a, i, trace.seg_root(i)) for i in range(1, trace.n + 1)]
    )
    return trace


# --- a dispute pinned for the jury ---


@dataclass(frozen=True)
class Pinned:
    job_id: int
    dispute_id: int
    submitter: str
    solver: str
    challenger: str
    ledger: Ledger


def pin_segment_dispute(world: World, challenger: str, *, fraud: bool) -> Pinned:
    """A job (N = 8, K = 4) of account 1, solved by account 2, challenged by ``challenger`` on
    segment 2 and bisected to one step. ``fraud``: the solver's trace is wrong from step 6, else
    the challenger believes a made-up run. The ledger is taken before the challenge."""
    assert world.game is not None
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace = commit_full(world, submitter, solver, {"wrong_from": 6 if fraud else None})
    truth = FullTrace.make(job_id, 0, 8, 4, wrong_from=None if fraud else 5)
    ledger = Ledger.take(world)
    dispute_id, _ = challenge(world, challenger, job_id, 2)
    world.send(world.game.functions.openSegment(*trace.open_args(dispute_id, 2)), solver)
    bisect(world, dispute_id, solver, challenger, trace, truth, 2)
    assert world.game.functions.getDispute(dispute_id).call()[PHASE] == JURY
    return Pinned(job_id, dispute_id, submitter, solver, challenger, ledger)


# --- one jury round, with receipts ---


@dataclass(frozen=True)
class Round:
    number: int
    jurors: list[str]
    draw: TxReceipt | None
    resolve: TxReceipt | None


def jury_round(world: World, dispute_id: int, digests: dict[str, bytes | None]) -> Round:
    """Record the draw seed (unless the round is drawn already) and the salt of the pending round,
    let every voter of ``digests`` commit and reveal (``None``: commits nothing; 'juror<k>' names
    the k-th drawn juror), then resolve. No resolve when no panel sat (the dispute is over)."""
    jury = world.jury.functions
    draw = None
    if jury.panelOf(dispute_id).call()[P_PHASE] == SEED_PHASE:
        world.mine(SEED_DELAY)
        draw = world.send(jury.recordSeed(dispute_id), world.owner)
    panel = jury.panelOf(dispute_id).call()
    number = int(panel[P_ROUND])
    jurors = [str(a) for a in jury.jurorsOf(dispute_id, number).call()]
    if panel[P_PHASE] == DONE_PHASE:
        return Round(number, jurors, draw, None)
    world.mine(SEED_DELAY)
    world.send(jury.recordSeed(dispute_id), world.owner)
    named = {f"juror{x}": j for x, j in enumerate(jurors)}
    votes = {named.get(n, n): d for n, d in digests.items() if d is not None}
    for voter, digest in votes.items():
        commitment = vote_commitment(dispute_id, number, voter, digest, VOTE_SALT)
        world.send(jury.commitVote(dispute_id, commitment), voter)
    world.advance(JURY_COMMIT_PHASE + 1)
    for voter, digest in votes.items():
        world.send(jury.revealVote(dispute_id, digest, VOTE_SALT), voter)
    world.advance(JURY_REVEAL_PHASE + 1)
    resolve = world.send(jury.resolve(dispute_id), world.owner)
    return Round(number, jurors, draw, resolve)


def expected_jurors(
    world: World, dispute_id: int, round_: int, size: int, seed_block: int, snapshot: int
) -> list[str]:
    """The panel the registry draws for ``round_`` from blockhash(``seed_block``) at the stake
    snapshot ``snapshot``, the parties excluded: keccak256(abi.encode(seed, "jurors", id, round))."""
    assert world.game is not None
    seed = bytes(world.w3.eth.get_block(seed_block)["hash"])
    derived = Web3.keccak(
        abi_encode(
            ["bytes32", "string", "uint256", "uint256"], [seed, "jurors", dispute_id, round_]
        )
    )
    dispute = world.game.functions.getDispute(dispute_id).call()
    drawn, _ = world.registry.functions.drawVerifiers(
        derived, size, [dispute[11], dispute[9]], snapshot
    ).call()
    return [str(a) for a in drawn]


def solver_lost(
    changes: Changes,
    *,
    solver: str,
    winner: str | None,
    submitter: str,
    fees: int = 0,
    lock: int = LOCK,
    fee: int = CHALLENGE_FEE,
) -> None:
    """§7 fraud slash of the whole lock: ``fees`` to jurors (credited by the caller), then 50% of
    the rest to ``winner`` (the only open challenger of the segment; it paid the challenge
    ``fee``, burned), 25% to the submitter, the rest burned. ``winner=None``: an availability
    claim, which pays no jackpot (burned too)."""
    rest = lock - fees
    changes.slash(solver, lock)
    changes.locked[solver] -= lock
    jackpot = 0 if winner is None else rest // 2
    if winner is not None:
        changes.credit[winner] += jackpot
        changes.slash(winner, fee)
        changes.burned += fee
    changes.credit[submitter] += rest // 4
    changes.burned += rest - jackpot - rest // 4


def challenger_lost(
    changes: Changes,
    *,
    challenger: str,
    solver: str,
    fees: int = 0,
    bond: int = BOND,
    fee: int = CHALLENGE_FEE,
) -> None:
    """§7 lost bond: ``fees`` to jurors (credited by the caller), then 50% to the solver
    (respondent), the rest burned; the challenge ``fee`` (0 for availability claims) burned too."""
    rest = bond - fees
    changes.slash(challenger, bond + fee)
    changes.credit[solver] += rest // 2
    changes.burned += rest - rest // 2 + fee


def jurors_settled(
    changes: Changes, rounds: list[tuple[list[str], set[str]]], *, slash: int, fee: int = FEE
) -> int:
    """Jurors of each round, (drawn, paid): the paid earn ``fee``, the others lose ``slash``
    (burned). Returns the total fee."""
    total = 0
    for drawn, paid in rounds:
        for juror in drawn:
            if juror in paid:
                changes.credit[juror] += fee
                total += fee
            else:
                changes.slash(juror, slash)
                changes.burned += slash
    return total
