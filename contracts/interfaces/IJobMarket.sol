// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IJobMarket
/// @notice Escrow and state machine of training jobs (docs/PROTOCOL.md §2):
/// Open → Claimed → Committed → Finalized; Open → Cancelled; Claimed → Open on solve timeout or a
/// proven dataset-availability abort; Committed → Open when the dispute game proves fraud (attempt + 1,
/// escrow intact). "Attesting" is phase logic inside Committed: the challenge window runs until
/// `deadline`, the attestation reveal phase until `deadline + revealPhase` (challenges stay allowed
/// until then), and only then can the job be finalized (with no open dispute or claim).
/// Payouts are pull-based credits withdrawn with `withdraw`.
interface IJobMarket {
    enum JobStatus {
        None,
        Open,
        Claimed,
        Committed,
        Finalized,
        Cancelled
    }

    /// @notice One job. `commitment` = keccak256(abi.encode(stateRoot, segRootsRoot,
    /// finalStateHash, manifestHash)) of the current attempt; the preimage is in `JobCommitted`.
    struct Job {
        address submitter;
        uint96 reward;
        address solver;
        uint96 verifierFee;
        bytes32 specHash; // sha256 of the canonical spec JSON; the spec blob is `sha256:<specHash>`
        uint32 numSegments; // N = steps / checkpointEvery
        uint32 checkpointEvery; // K
        uint32 attempt; // starts at 0, +1 each time the job reopens
        uint32 solveTimeout; // seconds from claim to the solve deadline
        uint16 sampleRateBps; // share of segments verifiers sample, in basis points
        uint24 openDisputes; // while > 0 the job is frozen: no finalize
        JobStatus status;
        uint40 deadline; // solve deadline while Claimed, end of the challenge window while Committed
        uint40 commitBlock; // block of the commit: attester seed target = commitBlock + seedDelay
        bytes32 commitment;
    }

    /// @notice Price terms of a job posted with `postJobWithTerms` (docs/MARKET.md, "Pricing"). The
    /// offer rises linearly from `floor` to the escrowed reward (the cap) over `ramp` seconds from the
    /// posting time (and again from each reopen); `ramp` 0 or `floor` == cap is a fixed price.
    /// `minFinalized` > 0 admits only claimers whose record shows that many finalized jobs.
    struct PriceTerms {
        uint96 floor;
        uint32 ramp;
        uint64 minFinalized;
    }

    /// @notice A job's terms as they stand: `cap` is the job's current reward (the fixed price once
    /// claimed), `floor` == `cap` and `ramp` 0 for a fixed price, `rampStart` the posting or last reopen
    /// time of a ramped job (0 for a fixed price).
    struct JobTerms {
        uint256 floor;
        uint256 cap;
        uint256 rampStart;
        uint256 ramp;
        uint256 minFinalized;
    }

    /// @notice A solver's track record (docs/MARKET.md, "Track record"): jobs and units `finalized`,
    /// the `value` of their rewards, fraud convictions (`frauds`) and solve `timeouts`.
    struct SolverRecord {
        uint64 finalized;
        uint128 value;
        uint32 frauds;
        uint32 timeouts;
    }

    /// @notice `steps` is zero or not a multiple of `checkpointEvery`, or `checkpointEvery` < 2.
    error JobMarketInvalidSteps(uint256 steps, uint256 checkpointEvery);
    /// @notice The reward is zero.
    error JobMarketZeroReward();
    /// @notice The spec hash is zero.
    error JobMarketZeroSpecHash();
    /// @notice The sample rate is below the protocol minimum or above 100%.
    error JobMarketInvalidSampleRate(uint256 sampleRateBps, uint256 minimumBps);
    /// @notice The solve timeout is outside [minimum, maximum].
    error JobMarketInvalidSolveTimeout(uint256 solveTimeout, uint256 minimum, uint256 maximum);
    /// @notice The submitter approved only `allowance` tokens, `required` are needed.
    error JobMarketInsufficientAllowance(uint256 allowance, uint256 required);
    /// @notice No job has id `jobId`.
    error JobMarketUnknownJob(uint256 jobId);
    /// @notice Job `jobId` is in `status`, which does not allow this action.
    error JobMarketWrongStatus(uint256 jobId, JobStatus status);
    /// @notice `caller` is not the job's submitter.
    error JobMarketNotSubmitter(uint256 jobId, address caller);
    /// @notice `caller` is not the job's solver.
    error JobMarketNotSolver(uint256 jobId, address caller);
    /// @notice The solve deadline `deadline` has passed.
    error JobMarketSolveDeadlinePassed(uint256 jobId, uint256 deadline);
    /// @notice The solve deadline `deadline` has not passed yet.
    error JobMarketSolveDeadlineNotReached(uint256 jobId, uint256 deadline);
    /// @notice The challenge window and reveal phase end at `deadline`, not yet.
    error JobMarketChallengeWindowOpen(uint256 jobId, uint256 deadline);
    /// @notice The job is frozen by `openDisputes` open disputes.
    error JobMarketFrozen(uint256 jobId, uint256 openDisputes);
    /// @notice The job has no open dispute to unfreeze.
    error JobMarketNotFrozen(uint256 jobId);
    /// @notice The proof does not show `finalStateHash` as checkpoint leaf N of `stateRoot`.
    error JobMarketInvalidFinalStateProof(uint256 jobId);
    /// @notice The given commitment preimage does not hash to the stored commitment.
    error JobMarketCommitmentMismatch(uint256 jobId);
    /// @notice `caller` is not the dispute game.
    error JobMarketNotDisputeGame(address caller);
    /// @notice Payee and amount lists differ in length, or the amounts exceed `available`.
    error JobMarketInvalidPayouts(uint256 total, uint256 available);
    /// @notice The caller has no credit to withdraw.
    error JobMarketNothingToWithdraw(address account);
    /// @notice `caller` is not the deployer, or the rounds market is already wired (or zero).
    error JobMarketUnauthorized(address caller);
    /// @notice `caller` is not the wired RoundsMarket, the only poster and canceller of units.
    error JobMarketNotRoundsMarket(address caller);
    /// @notice Job `jobId` is a unit of a rounds job: only RoundsMarket may cancel it, so a
    /// submitter cannot pull a unit out of a running round.
    error JobMarketUnitNotCancellable(uint256 jobId);
    /// @notice A unit batch of `count` jobs is empty or larger than a round may be (64 slots).
    error JobMarketInvalidUnitCount(uint256 count);
    /// @notice The rounds reserve holds `reserve`, less than the `required` escrow.
    error JobMarketInsufficientReserve(uint256 reserve, uint256 required);
    /// @notice The price terms are out of range: `floor` is zero or above the reward `cap`.
    error JobMarketInvalidTerms(uint256 floor, uint256 cap);
    /// @notice Job `jobId` admits only solvers with `required` finalized jobs; the claimer has `finalized`.
    error JobMarketRecordTooLow(uint256 jobId, uint256 finalized, uint256 required);
    /// @notice The rounds market booked a deposit of `amount` this contract did not receive.
    error JobMarketDepositMissing(uint256 amount);

    /// @notice Emitted when `submitter` posted job `jobId` and escrowed `reward + verifierFee`.
    event JobPosted(
        uint256 indexed jobId,
        address indexed submitter,
        bytes32 specHash,
        uint256 reward,
        uint256 verifierFee,
        uint256 steps,
        uint256 checkpointEvery,
        uint256 solveTimeout,
        uint256 sampleRateBps
    );
    /// @notice Emitted when the submitter cancelled open job `jobId`; its escrow became the submitter's credit.
    event JobCancelled(uint256 indexed jobId);
    /// @notice Emitted when `solver` claimed job `jobId` for `attempt` at `price` (the auction's offer at
    /// the claim; the job's reward from now on), locking `lockedStake` until `solveDeadline`.
    event JobClaimed(
        uint256 indexed jobId,
        address indexed solver,
        uint256 attempt,
        uint256 lockedStake,
        uint256 solveDeadline,
        uint256 price
    );
    /// @notice Emitted when the solver committed the trace of `attempt`; the challenge window ends at `challengeDeadline`.
    event JobCommitted(
        uint256 indexed jobId,
        address indexed solver,
        uint256 attempt,
        bytes32 stateRoot,
        bytes32 segRootsRoot,
        bytes32 finalStateHash,
        bytes32 manifestHash,
        uint256 challengeDeadline
    );
    /// @notice Emitted when the solve deadline passed without a commit: `burned` of the lock was burned, the job reopened.
    event JobSolveTimedOut(uint256 indexed jobId, address indexed solver, uint256 burned, uint256 newAttempt);
    /// @notice Emitted when job `jobId` was finalized: `solver` was credited `reward`, the attesters
    /// `attesterPaid` in total, the submitter `refund` (unpaid verifier fee and dust).
    event JobFinalized(
        uint256 indexed jobId, address indexed solver, uint256 reward, uint256 attesterPaid, uint256 refund
    );
    /// @notice Emitted when the dispute game froze the job (`openDisputes` now open).
    event JobFrozen(uint256 indexed jobId, uint256 openDisputes);
    /// @notice Emitted when a dispute closed; the challenge window was extended by `extension` seconds.
    event JobUnfrozen(uint256 indexed jobId, uint256 openDisputes, uint256 extension, uint256 challengeDeadline);
    /// @notice Emitted when fraud was proven: the solver's lock was slashed (`paid` credited, `burned` burned)
    /// and the job reopened as `newAttempt`.
    event JobReopened(uint256 indexed jobId, address indexed solver, uint256 paid, uint256 burned, uint256 newAttempt);
    /// @notice Emitted when a dataset availability claim was upheld: the solver's lock was released,
    /// `feesPaid` of the escrow paid the jury, and the job reopened as `newAttempt`.
    event JobAborted(uint256 indexed jobId, address indexed solver, uint256 feesPaid, uint256 newAttempt);
    /// @notice Emitted when the dispute game settled `amount` of `account`'s locked stake: `paid`
    /// credited, `burned` burned.
    event StakeSettled(address indexed account, uint256 paid, uint256 burned);
    /// @notice Emitted when `account` was credited `amount` (pull payment).
    event Credited(address indexed account, uint256 amount);
    /// @notice Emitted when `account` withdrew `amount` of credit.
    event CreditWithdrawn(address indexed account, uint256 amount);

    /// @notice Post a job and escrow `reward + verifierFee` (pulled with transferFrom).
    /// @param specHash sha256 of the canonical spec JSON (its blob address).
    /// @param steps optimizer steps; must be a positive multiple of `checkpointEvery`.
    /// @param checkpointEvery K, at least 2.
    /// @param solveTimeout seconds a solver has from claim to commit.
    /// @param sampleRateBps share of segments sampled by verifiers, at least the protocol minimum.
    function postJob(
        bytes32 specHash,
        uint32 steps,
        uint32 checkpointEvery,
        uint96 reward,
        uint96 verifierFee,
        uint32 solveTimeout,
        uint16 sampleRateBps
    ) external returns (uint256 jobId);

    /// @notice `postJob` with price terms: `reward` is the cap the offer ramps up to, escrowed in full;
    /// at the claim `reward - price` is credited back to the caller. Reverts with
    /// `JobMarketInvalidTerms` unless 0 < `terms.floor` <= `reward`.
    function postJobWithTerms(
        bytes32 specHash,
        uint32 steps,
        uint32 checkpointEvery,
        uint96 reward,
        uint96 verifierFee,
        uint32 solveTimeout,
        uint16 sampleRateBps,
        PriceTerms calldata terms
    ) external returns (uint256 jobId);

    /// @notice Cancel an open job; its escrow becomes the submitter's credit.
    function cancelJob(uint256 jobId) external;

    /// @notice Claim an open job at its current offer (`currentPrice`): the price becomes the job's
    /// reward, the cap minus the price is credited to the submitter, and max(minSolverStake, 2 × price)
    /// of the caller's stake is locked. Reverts with `JobMarketRecordTooLow` when the job requires a
    /// longer record than the caller's.
    function claimJob(uint256 jobId) external;

    /// @notice Commit the trace; `finalStateProof` shows `finalStateHash` as checkpoint leaf N of `stateRoot`.
    function commitTrace(
        uint256 jobId,
        bytes32 stateRoot,
        bytes32 segRootsRoot,
        bytes32 finalStateHash,
        bytes32 manifestHash,
        bytes32[] calldata finalStateProof
    ) external;

    /// @notice After the solve deadline of a claimed job: burn 10% of the solver's lock, unlock the rest,
    /// reopen the job with attempt + 1. Anyone may call.
    function reclaimTimedOut(uint256 jobId) external;

    /// @notice After the challenge window and the reveal phase (`block.timestamp > deadline + revealPhase`),
    /// with no open dispute: credit the solver `reward`, each attester `verifierFee / assignedSegments`
    /// per valid revealed segment (IAttestations.payoutsOf), the submitter the rest, and unlock the
    /// solver's stake. Anyone may call.
    function finalizeJob(uint256 jobId) external;

    /// @notice Withdraw all of the caller's credit.
    function withdraw() external returns (uint256 amount);

    // --- rounds jobs (docs/ROUNDS.md): only the RoundsMarket wired at deployment ---

    /// @notice One-time wiring by the deployer: the RoundsMarket allowed to post and cancel units.
    /// Until it is called the deployer holds this one power (`crowdtrain deploy` lists it); after,
    /// nobody can change it.
    function initialize(address roundsMarket) external;

    /// @notice Book `amount` tokens the RoundsMarket just transferred here (a rounds job's whole
    /// escrow) as the rounds reserve, from which `postUnits` escrows each round's units: the escrow
    /// moves once, at posting, instead of once per round. Reverts unless the tokens arrived.
    /// Only the RoundsMarket.
    function depositRoundsEscrow(uint256 amount) external;

    /// @notice Credit `amount` of the rounds reserve to `account` (the escrow of rounds never opened
    /// of a cancelled rounds job, refunded to its submitter). Only the RoundsMarket.
    function refundRoundsEscrow(address account, uint256 amount) external;

    /// @notice Post `count` units of a rounds job (consecutive job ids from the returned one), each
    /// an ordinary job whose `submitter` is the rounds job's submitter, so cancellations and
    /// attester-fee leftovers credit it directly. The escrow `count × (reward + verifierFee)` comes
    /// from the rounds reserve. Each unit is priced by `terms` from the posting time, as in
    /// `postJobWithTerms`. Only the RoundsMarket; parameters are checked as in `postJobWithTerms`.
    function postUnits(
        address submitter,
        bytes32 specHash,
        uint32 steps,
        uint32 checkpointEvery,
        uint96 reward,
        uint96 verifierFee,
        uint32 solveTimeout,
        uint16 sampleRateBps,
        uint256 count,
        PriceTerms calldata terms
    ) external returns (uint256 firstJobId);

    /// @notice Cancel the units among jobs `firstJobId .. firstJobId + count - 1` that are still
    /// Open (their escrow becomes the submitter's credit); Claimed and Committed ones run on.
    /// Only the RoundsMarket. Returns the escrow credited.
    function cancelUnits(uint256 firstJobId, uint256 count) external returns (uint256 refund);

    // --- entry points of the dispute game (only `disputeGame`) ---

    /// @notice Freeze a committed (or, for a dataset claim, claimed) job while a dispute is open: no
    /// finalize, commit or timeout reclaim.
    function freezeJob(uint256 jobId) external;
    /// @notice Close one dispute on the job. When the last open dispute closes, the deadline (challenge
    /// window, or solve deadline while Claimed) moves by the time the job was frozen, measured from the
    /// first of the overlapping disputes (the union of frozen time, not a sum per dispute), capped so
    /// that the extensions of one attempt add up to at most `maxWindowExtension`.
    function unfreezeJob(uint256 jobId) external;
    /// @notice Fraud proven: slash the solver's whole lock — `amounts[k]` credited to `payees[k]`, the rest
    /// burned — and reopen the job with attempt + 1, escrow intact.
    function reopenJob(uint256 jobId, address[] calldata payees, uint256[] calldata amounts) external;
    /// @notice Dataset unavailable (job Claimed): pay `amounts` to `payees` from the escrow (verifier fee
    /// first, then reward), release the solver's whole lock, reopen with attempt + 1.
    function abortJob(uint256 jobId, address[] calldata payees, uint256[] calldata amounts) external;
    /// @notice Settle `amount` of `account`'s locked stake (a bond or juror stake): `amounts[k]`
    /// credited to `payees[k]`, the rest burned.
    function settleStake(address account, uint256 amount, address[] calldata payees, uint256[] calldata amounts)
        external;

    // --- views ---

    function getJob(uint256 jobId) external view returns (Job memory);
    /// @notice Bit k set when job `firstJobId + k` is Finalized (k < count ≤ 256): one call for a
    /// round's gate.
    function finalizedMask(uint256 firstJobId, uint256 count) external view returns (uint256 mask);
    /// @notice Whether job `jobId` is a unit of a rounds job (posted by the RoundsMarket).
    function isUnit(uint256 jobId) external view returns (bool);
    /// @notice The RoundsMarket wired at deployment (zero until `initialize`).
    function roundsMarket() external view returns (address);
    /// @notice Escrow of rounds not yet opened, held for the RoundsMarket (part of the liabilities).
    function roundsReserve() external view returns (uint256);
    /// @notice The job's submitter (0 for an unknown job): one storage read, for the jury draw.
    function submitterOf(uint256 jobId) external view returns (address);
    function jobCount() external view returns (uint256);
    function creditOf(address account) external view returns (uint256);
    /// @notice Stake a claim of this job locks: max(minSolverStake, 2 × price), the price being the
    /// current offer while the job is Open (`currentPrice`), the fixed price after a claim.
    function solverLockOf(uint256 jobId) external view returns (uint256);
    /// @notice The offer a claim would fix now while the job is Open; otherwise its reward (the price
    /// fixed by the claim, or the posted reward of a job never claimed).
    function currentPrice(uint256 jobId) external view returns (uint256);
    /// @notice The job's price terms as they stand (see `JobTerms`).
    function termsOf(uint256 jobId) external view returns (JobTerms memory);
    /// @notice `solver`'s track record; all zero for an address that never finished a job.
    function recordOf(address solver) external view returns (SolverRecord memory);
    /// @notice Tokens this contract must hold: open escrows, unpaid credits and the rounds reserve.
    function totalLiabilities() external view returns (uint256);
    function token() external view returns (address);
    function stakeRegistry() external view returns (address);
    function disputeGame() external view returns (address);
    function attestations() external view returns (address);
    /// @notice Seconds of the attestation reveal phase after the challenge window.
    function revealPhase() external view returns (uint256);
    function minSolverStake() external view returns (uint256);
    function challengeWindow() external view returns (uint256);
    /// @notice Most seconds the deadline of one attempt can be extended by, all disputes together: it
    /// bounds the slash horizon the unbonding period must outlast.
    function maxWindowExtension() external view returns (uint256);
    function minSampleRateBps() external view returns (uint256);
}
