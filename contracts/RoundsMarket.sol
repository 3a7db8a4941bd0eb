// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IRoundsMarket} from "./interfaces/IRoundsMarket.sol";

/// @title RoundsMarket
/// @notice Escrow and round gates of rounds jobs (docs/ROUNDS.md, "Rounds market"). Every unit is an
/// ordinary JobMarket job posted through `IJobMarket.postUnits`, so claims, commits, attestations,
/// disputes, timeouts and payouts of units are JobMarket's, unchanged. This contract decides only
/// when a round closes, which units it includes, and when the next round's units are posted.
/// @dev It never holds tokens: `postRoundsJob` moves the whole escrow from the submitter straight to
/// JobMarket (its rounds reserve), so opening a round moves no token, and every refund is a JobMarket
/// credit. JobMarket's solvency rule covers the reserve: Σ over Running rounds jobs of the escrow of
/// rounds not yet opened == `JobMarket.roundsReserve()`.
///
/// Gas: a rounds job is four slots; a round is one slot (`_Round`, keyed by its first job id) written
/// once, when it opens, together with the previous round's first job id and included mask (the last
/// round's mask is kept in the rounds job's own slot), so a close writes no slot of its own.
contract RoundsMarket is IRoundsMarket, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev Most slots a round may have: the included set is a 64-bit mask.
    uint256 private constant _MAX_WORKERS = 64;

    /// @dev Storage layout of a rounds job (packed; `getRoundsJob` returns the interface's struct).
    struct _Job {
        address submitter;
        uint96 unitReward;
        bytes32 specHash;
        uint96 unitVerifierFee;
        uint8 workers;
        uint8 quorum;
        uint32 rounds;
        uint32 innerSteps;
        uint32 checkpointEvery;
        uint32 solveTimeout;
        uint16 sampleRateBps;
        uint32 roundTimeout;
        uint32 round;
        uint40 roundDeadline;
        uint64 firstJobId; // of the current round: the head of the rounds' list, linked backwards
        uint64 lastIncludedMask; // of the last round, once the job finished
        RoundsStatus status;
    }

    /// @dev One round, keyed by its first job id: which rounds job it belongs to, and the first job id
    /// and included mask of the round before it (a closed round always includes at least one unit).
    struct _Round {
        uint64 roundsId;
        uint32 round;
        uint64 prevFirstJobId;
        uint64 prevIncludedMask;
    }

    IJobMarket private immutable _market;
    IERC20 private immutable _token;
    /// @dev Challenge window + reveal phase of the JobMarket (its immutables), read once.
    uint256 private immutable _finalizeDelay;

    mapping(uint256 roundsId => _Job) private _jobs;
    mapping(uint256 firstJobId => _Round) private _rounds;
    uint256 private _roundsJobCount;
    /// @dev Unit price terms of a rounds job, stored only when they are not a fixed price (floor 0 here).
    mapping(uint256 roundsId => IJobMarket.PriceTerms) private _unitTerms;

    /// @param market_ the JobMarket whose `initialize` must then be called with this contract's
    /// address (by its deployer, once): only then may this contract post and cancel units.
    constructor(address market_) {
        if (market_ == address(0)) revert RoundsMarketInvalidConfiguration();
        _market = IJobMarket(market_);
        _token = IERC20(IJobMarket(market_).token());
        _finalizeDelay = IJobMarket(market_).challengeWindow() + IJobMarket(market_).revealPhase();
    }

    // --- submitter ---

    /// @inheritdoc IRoundsMarket
    function postRoundsJob(
        bytes32 specHash,
        uint32 workers,
        uint32 rounds,
        uint32 quorum,
        uint32 innerSteps,
        uint32 checkpointEvery,
        uint96 unitReward,
        uint96 unitVerifierFee,
        uint32 solveTimeout,
        uint32 roundTimeout,
        uint16 sampleRateBps,
        IJobMarket.PriceTerms calldata unitTerms
    ) external nonReentrant returns (uint256 roundsId) {
        if (workers == 0 || workers > _MAX_WORKERS) revert RoundsMarketInvalidWorkers(workers);
        if (rounds == 0) revert RoundsMarketInvalidRounds(rounds);
        if (quorum == 0 || quorum > workers) revert RoundsMarketInvalidQuorum(quorum, workers);
        uint256 minTimeout = uint256(solveTimeout) + _finalizeDelay;
        if (roundTimeout < minTimeout) revert RoundsMarketRoundTimeoutTooShort(roundTimeout, minTimeout);
        // < 2^97 · 2^6 · 2^32: no overflow
        uint256 escrow = (uint256(unitReward) + unitVerifierFee) * workers * rounds;
        uint256 allowance = _token.allowance(msg.sender, address(this));
        if (allowance < escrow) revert RoundsMarketInsufficientAllowance(allowance, escrow);

        unchecked {
            roundsId = _roundsJobCount + 1;
        }
        _roundsJobCount = roundsId;
        _Job storage job = _jobs[roundsId];
        job.submitter = msg.sender;
        job.unitReward = unitReward;
        job.specHash = specHash;
        job.unitVerifierFee = unitVerifierFee;
        job.workers = uint8(workers);
        job.quorum = uint8(quorum);
        job.rounds = rounds;
        job.innerSteps = innerSteps;
        job.checkpointEvery = checkpointEvery;
        job.solveTimeout = solveTimeout;
        job.sampleRateBps = sampleRateBps;
        job.roundTimeout = roundTimeout;
        job.status = RoundsStatus.Running;
        if (unitTerms.floor != unitReward || unitTerms.minFinalized != 0) _unitTerms[roundsId] = unitTerms;
        emit RoundsJobPosted(
            roundsId, msg.sender, specHash, workers, rounds, quorum, unitReward, unitVerifierFee
        );
        _token.safeTransferFrom(msg.sender, address(_market), escrow);
        _market.depositRoundsEscrow(escrow);
        _openRound(job, roundsId, 0, 0, 0);
    }

    /// @inheritdoc IRoundsMarket
    /// @dev The cancelled units' escrow is credited by JobMarket to their submitter; the rounds never
    /// opened are refunded from JobMarket's rounds reserve to the same credit.
    function cancelRoundsJob(uint256 roundsId) external nonReentrant {
        _Job storage job = _running(roundsId);
        address submitter = job.submitter;
        if (msg.sender != submitter) revert RoundsMarketNotSubmitter(roundsId, msg.sender);
        job.status = RoundsStatus.Cancelled;
        uint256 unopened;
        unchecked {
            // round < rounds while Running; < 2^97 · 2^6 · 2^32
            unopened = (uint256(job.unitReward) + job.unitVerifierFee) * job.workers * (job.rounds - job.round - 1);
        }
        uint256 unitsRefund = _market.cancelUnits(job.firstJobId, job.workers);
        emit RoundsJobCancelled(roundsId, unopened + unitsRefund);
        if (unopened != 0) _market.refundRoundsEscrow(submitter, unopened);
    }

    // --- anyone ---

    /// @inheritdoc IRoundsMarket
    function cancelStaleUnits(uint256 roundsId, uint32 round) external nonReentrant returns (uint256 refund) {
        _Job storage job = _jobs[roundsId];
        RoundsStatus status = job.status;
        if (status == RoundsStatus.None) revert RoundsMarketUnknownRoundsJob(roundsId);
        if (round > job.round || (round == job.round && status == RoundsStatus.Running)) {
            revert RoundsMarketRoundNotStale(roundsId, round);
        }
        refund = _market.cancelUnits(_firstJobOf(job, round), job.workers);
    }

    /// @inheritdoc IRoundsMarket
    /// @dev Reopening moves the deadline to now + roundTimeout (not old deadline + roundTimeout): a
    /// late call must not leave a deadline already past, or anyone could reopen the round every block.
    function closeRound(uint256 roundsId) external nonReentrant {
        _Job storage job = _running(roundsId);
        uint256 workers = job.workers;
        uint256 firstJobId = job.firstJobId;
        uint32 round = job.round;
        uint256 mask = _market.finalizedMask(firstJobId, workers);
        if (mask != (1 << workers) - 1) {
            uint256 deadline = job.roundDeadline;
            if (block.timestamp <= deadline) revert RoundsMarketRoundNotDue(roundsId, round, deadline);
            if (_popcount(mask) < job.quorum) {
                uint64 reopened = uint64(block.timestamp) + job.roundTimeout;
                job.roundDeadline = uint40(reopened);
                emit RoundReopened(roundsId, round, reopened);
                return;
            }
            _market.cancelUnits(firstJobId, workers);
        }
        emit RoundClosed(roundsId, round, mask);
        unchecked {
            if (round + 1 == job.rounds) {
                (job.lastIncludedMask, job.status) = (uint64(mask), RoundsStatus.Finished);
                emit RoundsJobFinished(roundsId);
                return;
            }
            _openRound(job, roundsId, round + 1, uint64(firstJobId), uint64(mask));
        }
    }

    // --- views ---

    /// @inheritdoc IRoundsMarket
    function getRoundsJob(uint256 roundsId) external view returns (RoundsJob memory view_) {
        _Job storage job = _jobs[roundsId];
        view_ = RoundsJob({
            submitter: job.submitter,
            specHash: job.specHash,
            workers: job.workers,
            rounds: job.rounds,
            quorum: job.quorum,
            innerSteps: job.innerSteps,
            checkpointEvery: job.checkpointEvery,
            unitReward: job.unitReward,
            unitVerifierFee: job.unitVerifierFee,
            solveTimeout: job.solveTimeout,
            roundTimeout: job.roundTimeout,
            sampleRateBps: job.sampleRateBps,
            round: job.round,
            roundDeadline: job.roundDeadline,
            status: job.status
        });
    }

    /// @inheritdoc IRoundsMarket
    function unitJob(uint256 roundsId, uint32 round, uint32 slot) external view returns (uint256 jobId) {
        _Job storage job = _jobs[roundsId];
        if (slot >= job.workers) return 0;
        uint256 first = _firstJobOf(job, round);
        return first == 0 ? 0 : first + slot;
    }

    /// @inheritdoc IRoundsMarket
    /// @dev A round's units are consecutive job ids, so the nearest round start at or below `jobId`
    /// (at most 63 ids back) decides: `jobId` is its unit when it lies within that round's W ids.
    function unitOf(uint256 jobId) external view returns (uint256 roundsId, uint32 round, uint32 slot) {
        if (jobId == 0 || !_market.isUnit(jobId)) return (0, 0, 0);
        uint256 lowest = jobId > _MAX_WORKERS ? jobId - _MAX_WORKERS + 1 : 1;
        for (uint256 first = jobId; first >= lowest; --first) {
            _Round storage start = _rounds[first];
            if (start.roundsId == 0) continue;
            uint256 offset = jobId - first;
            if (offset >= _jobs[start.roundsId].workers) return (0, 0, 0);
            return (start.roundsId, start.round, uint32(offset));
        }
    }

    /// @inheritdoc IRoundsMarket
    function includedMask(uint256 roundsId, uint32 round) external view returns (uint256) {
        _Job storage job = _jobs[roundsId];
        if (round == job.round) return job.status == RoundsStatus.Finished ? job.lastIncludedMask : 0;
        if (round > job.round) return 0;
        return _rounds[_firstJobOf(job, round + 1)].prevIncludedMask;
    }

    /// @inheritdoc IRoundsMarket
    function roundsJobCount() external view returns (uint256) {
        return _roundsJobCount;
    }

    /// @inheritdoc IRoundsMarket
    function jobMarket() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IRoundsMarket
    function token() external view returns (address) {
        return address(_token);
    }

    // --- internals ---

    /// @dev The rounds job, which must be Running (unknown ids get their own error).
    function _running(uint256 roundsId) private view returns (_Job storage job) {
        job = _jobs[roundsId];
        RoundsStatus status = job.status;
        if (status != RoundsStatus.Running) {
            if (status == RoundsStatus.None) revert RoundsMarketUnknownRoundsJob(roundsId);
            revert RoundsMarketNotRunning(roundsId, status);
        }
    }

    /// @dev Post round `round`'s W units (escrowed from JobMarket's rounds reserve) and record the round
    /// with the first job id and included mask of the round it follows.
    function _openRound(_Job storage job, uint256 roundsId, uint32 round, uint64 prevFirstJobId, uint64 prevMask)
        private
    {
        uint256 workers = job.workers;
        uint96 reward = job.unitReward;
        uint96 fee = job.unitVerifierFee;
        IJobMarket.PriceTerms memory terms = _unitTerms[roundsId];
        if (terms.floor == 0 && terms.ramp == 0) terms.floor = reward; // none stored: a fixed price
        uint64 firstJobId = uint64(
            _market.postUnits(
                job.submitter,
                job.specHash,
                job.innerSteps,
                job.checkpointEvery,
                reward,
                fee,
                job.solveTimeout,
                job.sampleRateBps,
                workers,
                terms
            )
        );
        uint64 deadline = uint64(block.timestamp) + job.roundTimeout;
        (job.round, job.roundDeadline, job.firstJobId) = (round, uint40(deadline), firstJobId);
        _rounds[firstJobId] = _Round({
            roundsId: uint64(roundsId),
            round: round,
            prevFirstJobId: prevFirstJobId,
            prevIncludedMask: prevMask
        });
        emit RoundOpened(roundsId, round, firstJobId, deadline);
    }

    /// @dev First job id of round `round` (0 when not opened): follows the rounds' links back from
    /// the current round.
    function _firstJobOf(_Job storage job, uint32 round) private view returns (uint256 first) {
        if (job.status == RoundsStatus.None || round > job.round) return 0;
        first = job.firstJobId;
        for (uint32 r = job.round; r > round; --r) {
            first = _rounds[first].prevFirstJobId;
        }
    }

    function _popcount(uint256 mask) private pure returns (uint256 count) {
        for (; mask != 0; mask &= mask - 1) {
            ++count;
        }
    }
}
