// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAttestations} from "./interfaces/IAttestations.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {TraceMerkle} from "./libraries/TraceMerkle.sol";

/// @title JobMarket
/// @notice Escrow and state machine of training jobs (docs/PROTOCOL.md §2, defaults of §8).
/// @dev Deadlines are inclusive: a solver may commit while `block.timestamp <= deadline`, and a job
/// can be reclaimed or finalized only once `block.timestamp > deadline`.
///
/// Solvency invariant, exact to the wei after every transaction:
/// `token.balanceOf(this) == totalLiabilities() == Σ escrow of Open/Claimed/Committed jobs + Σ credits
/// + roundsReserve()`.
///
/// Gas: a job is five storage slots (submitter+reward, solver+verifierFee, specHash, the small
/// fields, commitment); job ids start at 1 and share a slot with the liability total. A credit slot
/// stores `credit + 1` once an account has been credited, so a withdrawal leaves it at 1 instead of
/// zeroing it, and the next credit to that account is a cheap non-zero to non-zero write.
///
/// Rounds jobs (docs/ROUNDS.md): the RoundsMarket wired once by `initialize` deposits a rounds job's
/// whole escrow here at posting (the rounds reserve, in the RoundsMarket's slot), posts each round's
/// units as ordinary jobs from it (`postUnits`, no token transfer) and alone may cancel them
/// (`cancelUnits`); a bitmap of 256 job ids per word marks units, so a round's consecutive ids cost
/// one word write, not one slot per unit.
///
/// Pricing (docs/MARKET.md): a job posted with terms that are not a fixed price (floor < cap with a
/// ramp, or a minimum record) gets one more slot, `_Terms`; a fixed-price job leaves it empty, so its
/// claim costs one cold read more than before. The claim fixes the price at the offer, credits the
/// submitter `cap - price` and makes the price the job's reward; a reopen restarts the ramp from the
/// floor to that reward. Track records are one slot per solver, written at finalize, timeout, fraud.
contract JobMarket is IJobMarket, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Share of the solver's lock burned on a solve timeout, in basis points (docs/PROTOCOL.md §7).
    uint256 public constant SOLVE_TIMEOUT_SLASH_BPS = 1_000;
    uint256 private constant _BPS = 10_000;

    /// @notice A constructor argument is out of range (zero address, inverted bounds, rate > 100%).
    error JobMarketInvalidConfiguration();

    /// @dev Frozen-time bookkeeping of a job: `since` the first of the overlapping open disputes, the
    /// seconds already `extended` in `attempt`.
    struct Freeze {
        uint64 since;
        uint64 extended;
        uint32 attempt;
    }

    /// @dev Stored price terms of a job (one slot): `ramp` 0 is a fixed price at the job's reward.
    struct _Terms {
        uint96 floor;
        uint40 rampStart;
        uint32 ramp;
        uint64 minFinalized;
    }

    address private immutable _deployer;
    IERC20 private immutable _token;
    IStakeRegistry private immutable _stakeRegistry;
    address private immutable _disputeGame;
    IAttestations private immutable _attestations;
    uint64 private immutable _revealPhase;
    uint256 private immutable _minSolverStake;
    uint64 private immutable _challengeWindow;
    uint16 private immutable _minSampleRateBps;
    uint32 private immutable _minSolveTimeout;
    uint32 private immutable _maxSolveTimeout;
    uint64 private immutable _maxWindowExtension;

    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => Freeze) private _freezes;
    /// @dev 0: never credited; otherwise credit + 1.
    mapping(address account => uint256 creditPlusOne) private _credits;
    uint64 private _jobCount;
    uint192 private _totalLiabilities;
    /// @dev Bit (jobId & 255) of word (jobId >> 8) is set when the job is a unit of a rounds job.
    mapping(uint256 word => uint256 bits) private _unitBits;
    address private _roundsMarket;
    /// @dev Escrow of rounds not yet opened (shares the RoundsMarket's slot: one read checks the
    /// caller and loads it).
    uint96 private _roundsReserve;
    mapping(uint256 jobId => _Terms) private _terms;
    mapping(address solver => SolverRecord) private _records;

    /// @param token_ the escrow ERC20 (CrowdToken).
    /// @param stakeRegistry_ where solver stakes are locked; it must allow this contract.
    /// @param disputeGame_ the only address allowed to freeze, unfreeze, reopen, abort and settle stakes.
    /// @param attestations_ the attestation contract `finalizeJob` asks for attester payouts.
    /// @param revealPhase_ seconds of the attestation reveal phase after the challenge window.
    /// @param minSolverStake_ the least a solver locks per claim.
    /// @param challengeWindow_ seconds from commit to the end of the challenge window.
    /// @param minSampleRateBps_ protocol minimum of a job's sample rate.
    /// @param minSolveTimeout_ least solve timeout a job may ask for, in seconds.
    /// @param maxSolveTimeout_ largest solve timeout a job may ask for, in seconds.
    /// @param maxWindowExtension_ most seconds all disputes of one attempt may extend its deadline by.
    constructor(
        address token_,
        address stakeRegistry_,
        address disputeGame_,
        address attestations_,
        uint64 revealPhase_,
        uint256 minSolverStake_,
        uint64 challengeWindow_,
        uint16 minSampleRateBps_,
        uint32 minSolveTimeout_,
        uint32 maxSolveTimeout_,
        uint64 maxWindowExtension_
    ) {
        if (
            token_ == address(0) || stakeRegistry_ == address(0) || disputeGame_ == address(0)
                || attestations_ == address(0)
                || minSampleRateBps_ > _BPS || minSolveTimeout_ > maxSolveTimeout_
        ) revert JobMarketInvalidConfiguration();
        _deployer = msg.sender;
        _token = IERC20(token_);
        _stakeRegistry = IStakeRegistry(stakeRegistry_);
        _disputeGame = disputeGame_;
        _attestations = IAttestations(attestations_);
        _revealPhase = revealPhase_;
        _minSolverStake = minSolverStake_;
        _challengeWindow = challengeWindow_;
        _minSampleRateBps = minSampleRateBps_;
        _minSolveTimeout = minSolveTimeout_;
        _maxSolveTimeout = maxSolveTimeout_;
        _maxWindowExtension = maxWindowExtension_;
    }

    modifier onlyDisputeGame() {
        if (msg.sender != _disputeGame) revert JobMarketNotDisputeGame(msg.sender);
        _;
    }

    // --- submitter ---

    /// @inheritdoc IJobMarket
    /// @dev Job ids start at 1. `numSegments` is stored as steps / checkpointEvery.
    function postJob(
        bytes32 specHash,
        uint32 steps,
        uint32 checkpointEvery,
        uint96 reward,
        uint96 verifierFee,
        uint32 solveTimeout,
        uint16 sampleRateBps
    ) external nonReentrant returns (uint256 jobId) {
        jobId = _post(specHash, steps, checkpointEvery, reward, verifierFee, solveTimeout, sampleRateBps);
    }

    /// @inheritdoc IJobMarket
    function postJobWithTerms(
        bytes32 specHash,
        uint32 steps,
        uint32 checkpointEvery,
        uint96 reward,
        uint96 verifierFee,
        uint32 solveTimeout,
        uint16 sampleRateBps,
        PriceTerms calldata terms
    ) external nonReentrant returns (uint256 jobId) {
        (_Terms memory stored, bool priced) = _termsFrom(terms, reward);
        jobId = _post(specHash, steps, checkpointEvery, reward, verifierFee, solveTimeout, sampleRateBps);
        if (priced) _terms[jobId] = stored;
    }

    /// @inheritdoc IJobMarket
    /// @dev A unit is cancelled only by the RoundsMarket (`cancelUnits`): a submitter cancelling an open
    /// unit could starve a running round of its quorum after solvers planned on it.
    function cancelJob(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Open);
        address submitter = job.submitter;
        if (msg.sender != submitter) revert JobMarketNotSubmitter(jobId, msg.sender);
        if (_isUnit(jobId)) revert JobMarketUnitNotCancellable(jobId);
        job.status = JobStatus.Cancelled;
        emit JobCancelled(jobId);
        unchecked {
            _credit(submitter, uint256(job.reward) + job.verifierFee); // escrow stays a liability
        }
    }

    // --- rounds market ---

    /// @inheritdoc IJobMarket
    function initialize(address roundsMarket_) external {
        if (msg.sender != _deployer || _roundsMarket != address(0) || roundsMarket_ == address(0)) {
            revert JobMarketUnauthorized(msg.sender);
        }
        _roundsMarket = roundsMarket_;
    }

    /// @inheritdoc IJobMarket
    /// @dev The balance check makes the booking safe even if the caller's transfer went wrong.
    function depositRoundsEscrow(uint256 amount) external {
        if (msg.sender != _roundsMarket) revert JobMarketNotRoundsMarket(msg.sender);
        uint256 liabilities = _totalLiabilities + amount;
        if (_token.balanceOf(address(this)) < liabilities) revert JobMarketDepositMissing(amount);
        _totalLiabilities = uint192(liabilities);
        _roundsReserve = SafeCast.toUint96(_roundsReserve + amount);
    }

    /// @inheritdoc IJobMarket
    function refundRoundsEscrow(address account, uint256 amount) external {
        if (msg.sender != _roundsMarket) revert JobMarketNotRoundsMarket(msg.sender);
        uint256 reserve = _roundsReserve;
        if (reserve < amount) revert JobMarketInsufficientReserve(reserve, amount);
        unchecked {
            _roundsReserve = uint96(reserve - amount);
        }
        _credit(account, amount); // reserve becomes credit: the liability total does not change
    }

    /// @inheritdoc IJobMarket
    /// @dev No token moves and the liability total does not change: reserve becomes escrow. Each
    /// unit is stored and announced (`JobPosted`) exactly as `postJob` does.
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
    ) external returns (uint256 firstJobId) {
        if (msg.sender != _roundsMarket) revert JobMarketNotRoundsMarket(msg.sender);
        if (count == 0 || count > 64) revert JobMarketInvalidUnitCount(count);
        (_Terms memory stored, bool priced) = _termsFrom(terms, reward);
        uint256 escrow =
            _checkJob(specHash, steps, checkpointEvery, reward, verifierFee, solveTimeout, sampleRateBps) * count;
        uint256 reserve = _roundsReserve;
        if (reserve < escrow) revert JobMarketInsufficientReserve(reserve, escrow);
        unchecked {
            _roundsReserve = uint96(reserve - escrow);
        }
        uint256 end;
        unchecked {
            firstJobId = _jobCount + 1;
            end = firstJobId + count;
        }
        _jobCount = uint64(end - 1);
        uint256 word = firstJobId >> 8;
        uint256 bits;
        for (uint256 jobId = firstJobId; jobId < end; ++jobId) {
            _writeJob(jobId, submitter, specHash, steps, checkpointEvery, reward, verifierFee, solveTimeout, sampleRateBps);
            if (priced) _terms[jobId] = stored;
            if (jobId >> 8 != word) {
                _unitBits[word] |= bits;
                (word, bits) = (jobId >> 8, 0);
            }
            bits |= 1 << (jobId & 255);
        }
        _unitBits[word] |= bits;
    }

    /// @inheritdoc IJobMarket
    /// @dev Jobs of the range that are not units are skipped, so a fault in the caller cannot cancel
    /// an ordinary job.
    function cancelUnits(uint256 firstJobId, uint256 count) external returns (uint256 refund) {
        if (msg.sender != _roundsMarket) revert JobMarketNotRoundsMarket(msg.sender);
        uint256 end = firstJobId + count;
        for (uint256 jobId = firstJobId; jobId < end; ++jobId) {
            Job storage job = _jobs[jobId];
            if (job.status != JobStatus.Open || !_isUnit(jobId)) continue;
            job.status = JobStatus.Cancelled;
            emit JobCancelled(jobId);
            uint256 escrow = uint256(job.reward) + job.verifierFee;
            refund += escrow;
            _credit(job.submitter, escrow); // escrow stays a liability
        }
    }

    // --- solver ---

    /// @inheritdoc IJobMarket
    /// @dev A fixed-price job (empty `_Terms`) costs one cold read more than before terms existed.
    function claimJob(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Open);
        _Terms memory terms = _terms[jobId];
        uint64 required = terms.minFinalized;
        if (required != 0) {
            uint64 finalized = _records[msg.sender].finalized;
            if (finalized < required) revert JobMarketRecordTooLow(jobId, finalized, required);
        }
        uint96 cap = job.reward;
        uint96 price = cap;
        if (terms.ramp != 0) {
            price = uint96(_offer(terms, cap));
            if (price != cap) {
                job.reward = price;
                unchecked {
                    _credit(job.submitter, cap - price); // escrow becomes credit: liabilities unchanged
                }
            }
        }
        uint256 lockedStake = _lockFor(price);
        uint64 solveDeadline = uint64(block.timestamp) + job.solveTimeout;
        job.solver = msg.sender;
        job.status = JobStatus.Claimed;
        job.deadline = uint40(solveDeadline);
        emit JobClaimed(jobId, msg.sender, job.attempt, lockedStake, solveDeadline, price);
        _stakeRegistry.lock(msg.sender, lockedStake);
    }

    /// @inheritdoc IJobMarket
    /// @dev Allowed while `block.timestamp <= deadline`. `finalStateProof` must have exactly the
    /// depth of a tree over N + 1 checkpoint leaves; any other proof is an invalid proof.
    function commitTrace(
        uint256 jobId,
        bytes32 stateRoot,
        bytes32 segRootsRoot,
        bytes32 finalStateHash,
        bytes32 manifestHash,
        bytes32[] calldata finalStateProof
    ) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Claimed);
        if (msg.sender != job.solver) revert JobMarketNotSolver(jobId, msg.sender);
        if (job.openDisputes != 0) revert JobMarketFrozen(jobId, job.openDisputes);
        uint64 solveDeadline = job.deadline;
        if (block.timestamp > solveDeadline) revert JobMarketSolveDeadlinePassed(jobId, solveDeadline);
        uint256 attempt = job.attempt;
        uint256 n = job.numSegments;
        unchecked {
            if (
                finalStateProof.length != TraceMerkle.depth(n + 1)
                    || !TraceMerkle.verify(
                        stateRoot, TraceMerkle.checkpointLeaf(jobId, attempt, n, finalStateHash), n, n + 1, finalStateProof
                    )
            ) revert JobMarketInvalidFinalStateProof(jobId);
        }
        uint64 challengeDeadline = uint64(block.timestamp) + _challengeWindow;
        job.commitment = keccak256(abi.encode(stateRoot, segRootsRoot, finalStateHash, manifestHash));
        job.status = JobStatus.Committed;
        job.deadline = uint40(challengeDeadline);
        job.commitBlock = uint40(block.number);
        emit JobCommitted(
            jobId, msg.sender, attempt, stateRoot, segRootsRoot, finalStateHash, manifestHash, challengeDeadline
        );
    }

    /// @inheritdoc IJobMarket
    /// @dev Allowed once `block.timestamp > deadline`. Burns floor(lock / 10); the rest is unlocked.
    function reclaimTimedOut(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Claimed);
        if (job.openDisputes != 0) revert JobMarketFrozen(jobId, job.openDisputes);
        uint64 solveDeadline = job.deadline;
        if (block.timestamp <= solveDeadline) revert JobMarketSolveDeadlineNotReached(jobId, solveDeadline);
        address solver = job.solver;
        uint256 lockedStake = _lockFor(job.reward);
        uint256 burned = lockedStake * SOLVE_TIMEOUT_SLASH_BPS / _BPS;
        uint32 newAttempt = job.attempt + 1;
        _reopen(jobId, job, newAttempt);
        ++_records[solver].timeouts;
        emit JobSolveTimedOut(jobId, solver, burned, newAttempt);
        _stakeRegistry.burn(solver, burned);
        unchecked {
            _stakeRegistry.unlock(solver, lockedStake - burned);
        }
    }

    /// @inheritdoc IJobMarket
    /// @dev Allowed once `block.timestamp > deadline + revealPhase` (the challenge window, extended by
    /// disputes, then the reveal phase). Per-segment fee = verifierFee / assignedSegments (floor).
    function finalizeJob(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Committed);
        uint256 openDisputes = job.openDisputes;
        if (openDisputes != 0) revert JobMarketFrozen(jobId, openDisputes);
        uint256 end = uint256(job.deadline) + _revealPhase;
        if (block.timestamp <= end) revert JobMarketChallengeWindowOpen(jobId, end);
        address solver = job.solver;
        uint96 reward = job.reward;
        uint256 fee = job.verifierFee;
        job.status = JobStatus.Finalized;
        SolverRecord storage record = _records[solver];
        ++record.finalized;
        record.value += reward;
        (address[] memory attesters, uint256[] memory valid, uint256 assigned) =
            _attestations.payoutsOf(jobId, job.attempt);
        uint256 attesterPaid;
        if (assigned != 0) {
            uint256 perSegment = fee / assigned;
            for (uint256 k; k < attesters.length; ++k) {
                attesterPaid += perSegment * valid[k];
            }
        }
        emit JobFinalized(jobId, solver, reward, attesterPaid, fee - attesterPaid);
        // reward + fee was escrow: the liability total does not change.
        _credit(solver, reward);
        if (attesterPaid != 0) {
            uint256 perSegment = fee / assigned;
            for (uint256 k; k < attesters.length; ++k) {
                _credit(attesters[k], perSegment * valid[k]);
            }
        }
        _credit(job.submitter, fee - attesterPaid);
        _stakeRegistry.unlock(solver, _lockFor(reward));
    }

    /// @inheritdoc IJobMarket
    function withdraw() external nonReentrant returns (uint256 amount) {
        uint256 stored = _credits[msg.sender];
        if (stored < 2) revert JobMarketNothingToWithdraw(msg.sender);
        unchecked {
            amount = stored - 1;
            _totalLiabilities -= uint192(amount); // every credit is part of the total
        }
        _credits[msg.sender] = 1;
        emit CreditWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // --- dispute game ---

    /// @inheritdoc IJobMarket
    function freezeJob(uint256 jobId) external onlyDisputeGame {
        Job storage job = _jobs[jobId];
        _requireLive(jobId, job.status);
        uint24 openDisputes = job.openDisputes + 1;
        job.openDisputes = openDisputes;
        if (openDisputes == 1) {
            Freeze storage freeze = _freezes[jobId];
            if (freeze.attempt != job.attempt) (freeze.extended, freeze.attempt) = (0, job.attempt);
            freeze.since = uint64(block.timestamp);
        }
        emit JobFrozen(jobId, openDisputes);
    }

    /// @inheritdoc IJobMarket
    /// @dev Overlapping disputes extend the deadline once, by the union of their frozen time: the
    /// clock starts when the first opens and stops when the last closes.
    function unfreezeJob(uint256 jobId) external onlyDisputeGame {
        Job storage job = _jobs[jobId];
        _requireLive(jobId, job.status);
        uint24 openDisputes = job.openDisputes;
        if (openDisputes == 0) revert JobMarketNotFrozen(jobId);
        unchecked {
            --openDisputes;
        }
        job.openDisputes = openDisputes;
        uint64 extension;
        if (openDisputes == 0) {
            Freeze storage freeze = _freezes[jobId];
            uint64 extended = freeze.extended;
            extension = uint64(block.timestamp) - freeze.since;
            if (extension > _maxWindowExtension - extended) extension = _maxWindowExtension - extended;
            freeze.extended = extended + extension;
            job.deadline += uint40(extension);
        }
        emit JobUnfrozen(jobId, openDisputes, extension, job.deadline);
    }

    /// @inheritdoc IJobMarket
    /// @dev The new attempt starts with no commitment and no open dispute. A length mismatch reverts
    /// with `JobMarketInvalidPayouts(amounts.length, payees.length)`.
    function reopenJob(uint256 jobId, address[] calldata payees, uint256[] calldata amounts)
        external
        onlyDisputeGame
        nonReentrant
    {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Committed);
        uint256 lockedStake = _lockFor(job.reward);
        uint256 paid = _sumPayouts(payees, amounts, lockedStake);
        address solver = job.solver;
        uint32 newAttempt = job.attempt + 1;
        _reopen(jobId, job, newAttempt);
        ++_records[solver].frauds;
        uint256 burned;
        unchecked {
            burned = lockedStake - paid;
        }
        emit JobReopened(jobId, solver, paid, burned, newAttempt);
        _totalLiabilities += SafeCast.toUint192(paid);
        _creditAll(payees, amounts);
        _stakeRegistry.slash(solver, paid);
        _stakeRegistry.burn(solver, burned);
    }

    /// @inheritdoc IJobMarket
    /// @dev Escrow moves to credits: the liability total does not change.
    function abortJob(uint256 jobId, address[] calldata payees, uint256[] calldata amounts)
        external
        onlyDisputeGame
        nonReentrant
    {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Claimed);
        uint96 reward = job.reward;
        uint96 fee = job.verifierFee;
        uint256 paid = _sumPayouts(payees, amounts, uint256(reward) + fee);
        if (paid <= fee) {
            job.verifierFee = fee - uint96(paid);
        } else {
            job.verifierFee = 0;
            job.reward = reward - uint96(paid - fee);
        }
        address solver = job.solver;
        uint32 newAttempt = job.attempt + 1;
        _reopen(jobId, job, newAttempt);
        emit JobAborted(jobId, solver, paid, newAttempt);
        _creditAll(payees, amounts);
        _stakeRegistry.unlock(solver, _lockFor(reward));
    }

    /// @inheritdoc IJobMarket
    function settleStake(address account, uint256 amount, address[] calldata payees, uint256[] calldata amounts)
        external
        onlyDisputeGame
        nonReentrant
    {
        uint256 paid = _sumPayouts(payees, amounts, amount);
        uint256 burned;
        unchecked {
            burned = amount - paid;
        }
        emit StakeSettled(account, paid, burned);
        _totalLiabilities += SafeCast.toUint192(paid);
        _creditAll(payees, amounts);
        _stakeRegistry.slash(account, paid);
        _stakeRegistry.burn(account, burned);
    }

    // --- views ---

    /// @inheritdoc IJobMarket
    function submitterOf(uint256 jobId) external view returns (address) {
        return _jobs[jobId].submitter;
    }

    /// @inheritdoc IJobMarket
    function getJob(uint256 jobId) external view returns (Job memory job) {
        job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobMarketUnknownJob(jobId);
    }

    /// @inheritdoc IJobMarket
    function finalizedMask(uint256 firstJobId, uint256 count) external view returns (uint256 mask) {
        for (uint256 k; k < count; ++k) {
            if (_jobs[firstJobId + k].status == JobStatus.Finalized) mask |= 1 << k;
        }
    }

    /// @inheritdoc IJobMarket
    function isUnit(uint256 jobId) external view returns (bool) {
        return _isUnit(jobId);
    }

    /// @inheritdoc IJobMarket
    function roundsMarket() external view returns (address) {
        return _roundsMarket;
    }

    /// @inheritdoc IJobMarket
    function roundsReserve() external view returns (uint256) {
        return _roundsReserve;
    }

    /// @inheritdoc IJobMarket
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @inheritdoc IJobMarket
    function creditOf(address account) external view returns (uint256) {
        uint256 stored = _credits[account];
        return stored == 0 ? 0 : stored - 1;
    }

    /// @inheritdoc IJobMarket
    function solverLockOf(uint256 jobId) external view returns (uint256) {
        Job storage job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobMarketUnknownJob(jobId);
        return _lockFor(_priceNow(jobId, job));
    }

    /// @inheritdoc IJobMarket
    function currentPrice(uint256 jobId) external view returns (uint256) {
        Job storage job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobMarketUnknownJob(jobId);
        return _priceNow(jobId, job);
    }

    /// @inheritdoc IJobMarket
    function termsOf(uint256 jobId) external view returns (JobTerms memory view_) {
        Job storage job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobMarketUnknownJob(jobId);
        _Terms memory terms = _terms[jobId];
        uint256 cap = job.reward;
        view_ = JobTerms({floor: cap, cap: cap, rampStart: 0, ramp: 0, minFinalized: terms.minFinalized});
        if (terms.ramp != 0) (view_.floor, view_.rampStart, view_.ramp) = (terms.floor, terms.rampStart, terms.ramp);
    }

    /// @inheritdoc IJobMarket
    function recordOf(address solver) external view returns (SolverRecord memory) {
        return _records[solver];
    }

    /// @inheritdoc IJobMarket
    function totalLiabilities() external view returns (uint256) {
        return _totalLiabilities;
    }

    /// @inheritdoc IJobMarket
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IJobMarket
    function stakeRegistry() external view returns (address) {
        return address(_stakeRegistry);
    }

    /// @inheritdoc IJobMarket
    function disputeGame() external view returns (address) {
        return _disputeGame;
    }

    /// @inheritdoc IJobMarket
    function attestations() external view returns (address) {
        return address(_attestations);
    }

    /// @inheritdoc IJobMarket
    function revealPhase() external view returns (uint256) {
        return _revealPhase;
    }

    /// @inheritdoc IJobMarket
    function minSolverStake() external view returns (uint256) {
        return _minSolverStake;
    }

    /// @inheritdoc IJobMarket
    function challengeWindow() external view returns (uint256) {
        return _challengeWindow;
    }

    /// @inheritdoc IJobMarket
    function minSampleRateBps() external view returns (uint256) {
        return _minSampleRateBps;
    }

    /// @inheritdoc IJobMarket
    function maxWindowExtension() external view returns (uint256) {
        return _maxWindowExtension;
    }

    /// @notice Least solve timeout a job may ask for, in seconds.
    function minSolveTimeout() external view returns (uint256) {
        return _minSolveTimeout;
    }

    /// @notice Largest solve timeout a job may ask for, in seconds.
    function maxSolveTimeout() external view returns (uint256) {
        return _maxSolveTimeout;
    }

    // --- internals ---

    /// @dev The checks of a posted job (docs/PROTOCOL.md §2); returns its escrow, reward + verifierFee.
    function _checkJob(
        bytes32 specHash,
        uint32 steps,
        uint32 checkpointEvery,
        uint96 reward,
        uint96 verifierFee,
        uint32 solveTimeout,
        uint16 sampleRateBps
    ) private view returns (uint256) {
        if (specHash == bytes32(0)) revert JobMarketZeroSpecHash();
        if (checkpointEvery < 2 || steps == 0 || steps % checkpointEvery != 0) {
            revert JobMarketInvalidSteps(steps, checkpointEvery);
        }
        if (reward == 0) revert JobMarketZeroReward();
        if (sampleRateBps < _minSampleRateBps || sampleRateBps > _BPS) {
            revert JobMarketInvalidSampleRate(sampleRateBps, _minSampleRateBps);
        }
        if (solveTimeout < _minSolveTimeout || solveTimeout > _maxSolveTimeout) {
            revert JobMarketInvalidSolveTimeout(solveTimeout, _minSolveTimeout, _maxSolveTimeout);
        }
        return uint256(reward) + verifierFee;
    }

    /// @dev Check, store and escrow a job posted by the caller (both post functions).
    function _post(
        bytes32 specHash,
        uint32 steps,
        uint32 checkpointEvery,
        uint96 reward,
        uint96 verifierFee,
        uint32 solveTimeout,
        uint16 sampleRateBps
    ) private returns (uint256 jobId) {
        uint256 escrow = _checkJob(specHash, steps, checkpointEvery, reward, verifierFee, solveTimeout, sampleRateBps);
        uint256 allowance = _token.allowance(msg.sender, address(this));
        if (allowance < escrow) revert JobMarketInsufficientAllowance(allowance, escrow);

        unchecked {
            jobId = _jobCount + 1; // a uint64 of job ids never runs out
        }
        _jobCount = uint64(jobId);
        _totalLiabilities += uint192(escrow);
        _writeJob(jobId, msg.sender, specHash, steps, checkpointEvery, reward, verifierFee, solveTimeout, sampleRateBps);
        _token.safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @dev The slot to store for `terms` on a job of reward `cap`, and whether to store it at all:
    /// a fixed price (ramp 0 or floor == cap) with no minimum record is today's job, with no slot.
    function _termsFrom(PriceTerms calldata terms, uint96 cap) private view returns (_Terms memory stored, bool priced) {
        uint96 floor = terms.floor;
        // a zero reward is left to _checkJob's clearer JobMarketZeroReward
        if (cap != 0 && (floor == 0 || floor > cap)) revert JobMarketInvalidTerms(floor, cap);
        uint32 ramp = floor == cap ? 0 : terms.ramp;
        stored = _Terms({floor: floor, rampStart: uint40(block.timestamp), ramp: ramp, minFinalized: terms.minFinalized});
        priced = ramp != 0 || terms.minFinalized != 0;
    }

    /// @dev floor + (cap - floor) × min(now - rampStart, ramp) / ramp, rounded down; `cap` ≥ floor
    /// always holds (a claim never prices below the floor, a reopen lowers the floor to the reward).
    function _offer(_Terms memory terms, uint256 cap) private view returns (uint256) {
        uint256 elapsed = block.timestamp - terms.rampStart;
        if (elapsed >= terms.ramp) return cap;
        return terms.floor + (cap - terms.floor) * elapsed / terms.ramp;
    }

    /// @dev The offer while Open, otherwise the reward (the fixed price).
    function _priceNow(uint256 jobId, Job storage job) private view returns (uint256) {
        uint256 reward = job.reward;
        if (job.status != JobStatus.Open) return reward;
        _Terms memory terms = _terms[jobId];
        return terms.ramp == 0 ? reward : _offer(terms, reward);
    }

    /// @dev Store a new Open job and announce it.
    function _writeJob(
        uint256 jobId,
        address submitter,
        bytes32 specHash,
        uint32 steps,
        uint32 checkpointEvery,
        uint96 reward,
        uint96 verifierFee,
        uint32 solveTimeout,
        uint16 sampleRateBps
    ) private {
        Job storage job = _jobs[jobId];
        job.submitter = submitter;
        job.reward = reward;
        job.verifierFee = verifierFee;
        job.specHash = specHash;
        unchecked {
            job.numSegments = steps / checkpointEvery;
        }
        job.checkpointEvery = checkpointEvery;
        job.solveTimeout = solveTimeout;
        job.sampleRateBps = sampleRateBps;
        job.status = JobStatus.Open;
        emit JobPosted(
            jobId, submitter, specHash, reward, verifierFee, steps, checkpointEvery, solveTimeout, sampleRateBps
        );
    }

    function _isUnit(uint256 jobId) private view returns (bool) {
        return (_unitBits[jobId >> 8] >> (jobId & 255)) & 1 == 1;
    }

    /// @dev Revert unless `status` is `expected`: unknown jobs get their own error.
    function _requireStatus(uint256 jobId, JobStatus status, JobStatus expected) private pure {
        if (status != expected) {
            if (status == JobStatus.None) revert JobMarketUnknownJob(jobId);
            revert JobMarketWrongStatus(jobId, status);
        }
    }

    /// @dev Revert unless the job is Claimed or Committed (the states a dispute can freeze).
    function _requireLive(uint256 jobId, JobStatus status) private pure {
        if (status != JobStatus.Committed && status != JobStatus.Claimed) {
            if (status == JobStatus.None) revert JobMarketUnknownJob(jobId);
            revert JobMarketWrongStatus(jobId, status);
        }
    }

    /// @dev Σ amounts, reverting on a length mismatch (`JobMarketInvalidPayouts(amounts, payees)`) or a
    /// total above `available`.
    function _sumPayouts(address[] calldata payees, uint256[] calldata amounts, uint256 available)
        private
        pure
        returns (uint256 paid)
    {
        if (payees.length != amounts.length) revert JobMarketInvalidPayouts(amounts.length, payees.length);
        for (uint256 k; k < amounts.length; ++k) {
            paid += amounts[k];
        }
        if (paid > available) revert JobMarketInvalidPayouts(paid, available);
    }

    function _creditAll(address[] calldata payees, uint256[] calldata amounts) private {
        for (uint256 k; k < amounts.length; ++k) {
            _credit(payees[k], amounts[k]);
        }
    }

    /// @dev max(minSolverStake, 2 × reward).
    function _lockFor(uint256 reward) private view returns (uint256) {
        uint256 doubled = reward * 2; // reward < 2^96: no overflow
        return doubled > _minSolverStake ? doubled : _minSolverStake;
    }

    /// @dev Back to Open for `newAttempt`: no solver, deadline, commitment or open dispute. A ramped
    /// job's ramp restarts now, from its floor to its current reward (the last claim's price); a floor
    /// not below that reward leaves a fixed price.
    function _reopen(uint256 jobId, Job storage job, uint32 newAttempt) private {
        _Terms storage terms = _terms[jobId];
        if (terms.ramp != 0) {
            if (terms.floor >= job.reward) terms.ramp = 0;
            else terms.rampStart = uint40(block.timestamp);
        }
        job.solver = address(0);
        job.status = JobStatus.Open;
        job.attempt = newAttempt;
        job.deadline = 0;
        job.openDisputes = 0;
        job.commitBlock = 0;
        job.commitment = bytes32(0);
    }

    /// @dev Credit `amount` to `account`. The caller keeps `_totalLiabilities` in step.
    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        uint256 stored = _credits[account];
        unchecked {
            // credits are bounded by the token supply held here
            _credits[account] = stored == 0 ? amount + 1 : stored + amount;
        }
        emit Credited(account, amount);
    }
}
