"""A deployed protocol (token, registry, market, rounds market) with the helpers every contract
test uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol_kit import (
    ATTESTER_SLASH,
    ATTESTERS_PER_JOB,
    CHALLENGE_WINDOW,
    DEAD,
    DISPUTE_PARAMS,
    ETHER,
    JUROR_SLASH,
    JUROR_STAKE,
    JURY_COMMIT_PHASE,
    JURY_REVEAL_PHASE,
    JURY_SIZE,
    LIVE_STATUSES,
    MAX_SOLVE_TIMEOUT,
    MAX_WINDOW_EXTENSION,
    MIN_JURORS,
    MIN_SAMPLE_RATE_BPS,
    MIN_SOLVE_TIMEOUT,
    MIN_SOLVER_STAKE,
    MIN_VERIFIER_STAKE,
    REVEAL_PHASE,
    SEED_DELAY,
    UNBONDING_PERIOD,
    ErrorTable,
    Job,
    decode_logs,
    deploy,
    revert_data,
)
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from node.trace.merkle import MerkleTree, checkpoint_leaf

SPEC_HASH = Web3.keccak(text="spec")


@dataclass
class World:
    w3: Web3
    token: Contract
    registry: Contract
    market: Contract
    owner: str
    dispute_game: str
    accounts: list[str]
    errors: ErrorTable
    attestations: Contract
    jury: Contract
    rounds: Contract
    game: Contract | None = None

    @classmethod
    def deploy(cls, w3: Web3, accounts: list[str], *, full: bool = False) -> World:
        """Deploy the protocol from account 0. ``full``: the real DisputeGame and Jury; otherwise
        account 9 plays the dispute game by hand (the JobMarket entry-point tests)."""
        owner = accounts[0]
        token = deploy(w3, "CrowdToken", owner, owner, 0)
        registry = deploy(
            w3, "StakeRegistry", owner, token.address, UNBONDING_PERIOD, MIN_VERIFIER_STAKE, owner
        )
        attestations = deploy(
            w3,
            "Attestations",
            owner,
            registry.address,
            ATTESTERS_PER_JOB,
            SEED_DELAY,
            ATTESTER_SLASH,
        )
        jury = deploy(
            w3,
            "Jury",
            owner,
            registry.address,
            JURY_SIZE,
            MIN_JURORS,
            SEED_DELAY,
            JURY_COMMIT_PHASE,
            JURY_REVEAL_PHASE,
            JUROR_STAKE,
            JUROR_SLASH,
        )
        game = deploy(w3, "DisputeGame", owner, registry.address, DISPUTE_PARAMS) if full else None
        dispute_game = game.address if game is not None else accounts[9]
        market = deploy(
            w3,
            "JobMarket",
            owner,
            token.address,
            registry.address,
            dispute_game,
            attestations.address,
            REVEAL_PHASE,
            MIN_SOLVER_STAKE,
            CHALLENGE_WINDOW,
            MIN_SAMPLE_RATE_BPS,
            MIN_SOLVE_TIMEOUT,
            MAX_SOLVE_TIMEOUT,
            MAX_WINDOW_EXTENSION,
        )
        rounds = deploy(w3, "RoundsMarket", owner, market.address)
        abis = [token.abi, registry.abi, market.abi, attestations.abi, jury.abi, rounds.abi]
        if game is not None:
            abis.append(game.abi)
        errors = ErrorTable.from_abis(abis)
        world = cls(
            w3,
            token,
            registry,
            market,
            owner,
            dispute_game,
            accounts,
            errors,
            attestations,
            jury,
            rounds,
            game,
        )
        world.send(market.functions.initialize(rounds.address), owner)
        world.send(attestations.functions.initialize(market.address), owner)
        world.send(jury.functions.initialize(dispute_game), owner)
        for protocol in (market, jury, game):
            if protocol is not None:
                world.send(registry.functions.setProtocolContract(protocol.address, True), owner)
        if game is not None:
            world.send(
                game.functions.initialize(market.address, attestations.address, jury.address), owner
            )
        return world

    # --- transactions ---

    def send(self, fn: ContractFunction, sender: str) -> TxReceipt:
        """Send ``fn`` from ``sender`` (an unlocked Anvil account); assert success and solvency.

        The gas limit is fixed, so no estimate runs against a block time other than the next one.
        """
        tx_hash = fn.transact({"from": sender, "gas": 5_000_000})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, f"{fn.fn_name} reverted"
        self.assert_balances_match()
        return receipt

    def expect_revert(self, fn: ContractFunction, sender: str, name: str, *args: Any) -> None:
        """Assert that ``fn`` from ``sender`` reverts with custom error ``name(*args)``."""
        decoded = self.errors.decode(revert_data(fn, sender))
        assert decoded == (name, args), f"expected {name}{args}, got {decoded[0]}{decoded[1]}"

    def logs(self, receipt: TxReceipt) -> list[tuple[str, dict[str, Any]]]:
        contracts = [
            self.token,
            self.registry,
            self.market,
            self.attestations,
            self.jury,
            self.rounds,
        ]
        if self.game is not None:
            contracts.append(self.game)
        return decode_logs(receipt, *contracts)

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    # --- time ---

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def set_next_timestamp(self, timestamp: int) -> None:
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]

    def mine_at(self, timestamp: int) -> None:
        """Mine an empty block at ``timestamp``, so eth_call sees that time."""
        self.w3.provider.make_request("evm_mine", [timestamp])  # type: ignore[arg-type]

    # --- setup shortcuts ---

    def fund(self, account: str, amount: int) -> None:
        self.send(self.token.functions.mint(account, amount), self.owner)

    def stake(self, account: str, amount: int) -> None:
        self.fund(account, amount)
        self.send(self.token.functions.approve(self.registry.address, amount), account)
        self.send(self.registry.functions.stake(amount), account)

    def post(
        self,
        submitter: str,
        *,
        reward: int = 10 * ETHER,
        verifier_fee: int = 2 * ETHER,
        steps: int = 32,
        checkpoint_every: int = 4,
        solve_timeout: int = 3_600,
        sample_rate_bps: int = 1_000,
        spec_hash: bytes = SPEC_HASH,
        terms: tuple[int, int, int] | None = None,
    ) -> tuple[int, TxReceipt]:
        """Fund, approve and post; ``terms`` (floor, ramp, minFinalized) posts with
        ``postJobWithTerms``, ``reward`` being the cap."""
        self.fund(submitter, reward + verifier_fee)
        self.send(
            self.token.functions.approve(self.market.address, reward + verifier_fee), submitter
        )
        args = (spec_hash, steps, checkpoint_every, reward, verifier_fee, solve_timeout)
        market = self.market.functions
        post = (
            market.postJob(*args, sample_rate_bps)
            if terms is None
            else market.postJobWithTerms(*args, sample_rate_bps, terms)
        )
        receipt = self.send(post, submitter)
        job_id = int(self.market.functions.jobCount().call())
        return job_id, receipt

    def job(self, job_id: int) -> Job:
        return Job.from_tuple(self.market.functions.getJob(job_id).call())

    def balance(self, account: str) -> int:
        return int(self.token.functions.balanceOf(account).call())

    def credit(self, account: str) -> int:
        return int(self.market.functions.creditOf(account).call())

    def stake_info(self, account: str) -> tuple[int, int, int, int]:
        staked, locked, unbonding, release = self.registry.functions.stakeOf(account).call()
        return int(staked), int(locked), int(unbonding), int(release)

    # --- solvency (docs/PROTOCOL.md §2) ---

    def assert_balances_match(self) -> None:
        market_balance = self.balance(self.market.address)
        assert market_balance == self.market.functions.totalLiabilities().call()
        assert self.balance(self.rounds.address) == 0  # the rounds escrow is JobMarket's reserve
        assert self.balance(self.registry.address) == self.registry.functions.totalStaked().call()

    def assert_solvent(self) -> None:
        """Both equalities, plus an independent recount of escrows, credits and stakes."""
        self.assert_balances_match()
        escrow = 0
        for job_id in range(1, self.market.functions.jobCount().call() + 1):
            job = self.job(job_id)
            if job.status in LIVE_STATUSES:
                escrow += job.reward + job.verifier_fee
        credits = sum(self.credit(a) for a in [*self.accounts, DEAD])
        reserve = int(self.market.functions.roundsReserve().call())
        assert self.balance(self.market.address) == escrow + credits + reserve
        stakes = 0
        for account in self.accounts:
            staked, _, unbonding, _ = self.stake_info(account)
            stakes += staked + unbonding
        assert self.balance(self.registry.address) == stakes
        unopened = 0  # the rounds reserve: the escrow of rounds not yet opened
        for rounds_id in range(1, self.rounds.functions.roundsJobCount().call() + 1):
            job = self.rounds.functions.getRoundsJob(rounds_id).call()
            workers, rounds, reward, fee, round_, status = (
                job[2],
                job[3],
                job[7],
                job[8],
                job[12],
                job[14],
            )
            if status == 1:  # Running
                unopened += (reward + fee) * workers * (rounds - round_ - 1)
        assert reserve == unopened


@dataclass(frozen=True)
class Trace:
    """A fake committed trace whose final state proof is valid for (job, attempt, N)."""

    state_root: bytes
    seg_roots_root: bytes
    final_state_hash: bytes
    manifest_hash: bytes
    proof: list[bytes]

    @classmethod
    def make(cls, job_id: int, attempt: int, num_segments: int, tag: str = "") -> Trace:
        hashes = [Web3.keccak(text=f"state-{tag}-{i}") for i in range(num_segments + 1)]
        leaves = [checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(hashes)]
        tree = MerkleTree.build(leaves)
        return cls(
            state_root=tree.root,
            seg_roots_root=Web3.keccak(text=f"segroots-{tag}"),
            final_state_hash=hashes[-1],
            manifest_hash=Web3.keccak(text=f"manifest-{tag}"),
            proof=tree.proof(num_segments),
        )

    def args(self, job_id: int) -> tuple[Any, ...]:
        return (
            job_id,
            self.state_root,
            self.seg_roots_root,
            self.final_state_hash,
            self.manifest_hash,
            self.proof,
        )

    @property
    def commitment(self) -> bytes:
        return Web3.solidity_keccak(
            ["bytes32", "bytes32", "bytes32", "bytes32"],
            [self.state_root, self.seg_roots_root, self.final_state_hash, self.manifest_hash],
        )


def claimed_job(world: World, submitter: str, solver: str, **post: Any) -> int:
    """Post a job from ``submitter`` and claim it with ``solver`` (staked just enough)."""
    job_id, _ = world.post(submitter, **post)
    world.stake(solver, int(world.market.functions.solverLockOf(job_id).call()))
    world.send(world.market.functions.claimJob(job_id), solver)
    return job_id


def committed_job(world: World, submitter: str, solver: str, **post: Any) -> tuple[int, Trace]:
    """A claimed job whose solver committed a valid trace."""
    job_id = claimed_job(world, submitter, solver, **post)
    job = world.job(job_id)
    trace = Trace.make(job_id, job.attempt, job.num_segments)
    world.send(world.market.functions.commitTrace(*trace.args(job_id)), solver)
    return job_id, trace
