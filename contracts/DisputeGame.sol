// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAttestations} from "./interfaces/IAttestations.sol";
import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IJury} from "./interfaces/IJury.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {IVerifierDraws} from "./interfaces/IVerifierDraws.sol";
import {TraceMerkle} from "./libraries/TraceMerkle.sol";

/// @title DisputeGame
/// @notice Challenges, openings, n-ary bisection with chess clocks, availability claims, the jury
/// and resolution (docs/PROTOCOL.md §6, §7; timeline in DISPUTES.md).
/// @dev Holds no tokens: bonds and juror stakes are locked stake in the StakeRegistry and every
/// payout is a JobMarket credit (`reopenJob`, `abortJob`, `settleStake`).
contract DisputeGame is IDisputeGame, ReentrancyGuardTransient {
    struct ChallengeCommit {
        uint64 seq;
        uint64 blockNumber; // 0: no commit
    }

    uint256 private constant _BPS = 10_000;
    uint256 private constant _MAX_PER_SEGMENT = 32;

    address private immutable _deployer;
    IStakeRegistry private immutable _registry;
    Params private _params;
    IJobMarket private _market;
    IAttestations private _attestations;
    IJury private _jury;

    mapping(uint256 disputeId => Dispute) private _disputes;
    /// @dev Keyed by the committer: a copied hash is a different entry and blocks nobody.
    mapping(address challenger => mapping(bytes32 hash => ChallengeCommit)) private _commits;
    /// @dev Open Segment / InitialState disputes of (job, attempt, segment); they share a conviction.
    mapping(bytes32 segmentKey => uint256[]) private _segmentDisputes;
    /// @dev Block of the first challenge of (job, attempt, segment): its opening (the root on chain)
    /// can only come later, so attestations committed from then on may be copies.
    mapping(bytes32 segmentKey => uint256 blockNumber) private _segmentChallenged;
    mapping(uint256 jobId => uint256 attemptPlusOne) private _datasetClaims;
    uint64 private _commitSeq;
    uint64 private _disputeCount;

    /// @param registry the StakeRegistry (bonds, juror stakes, draws); it must allow this contract.
    /// @param params_ the docs/PROTOCOL.md §8 parameters (degree >= 2, shares <= 100%).
    constructor(address registry, Params memory params_) {
        if (
            registry == address(0) || params_.bisectionDegree < 2
                || uint256(params_.jackpotBps) + params_.submitterBps > _BPS || params_.bondToSolverBps > _BPS
                || params_.challengeFeeBps > _BPS
        ) revert DisputeGameInvalidConfiguration();
        _deployer = msg.sender;
        _registry = IStakeRegistry(registry);
        _params = params_;
    }

    /// @inheritdoc IDisputeGame
    function initialize(address market, address attestations, address jury_) external {
        if (msg.sender != _deployer || address(_market) != address(0)) revert DisputeGameUnauthorized(msg.sender);
        if (market == address(0) || attestations == address(0) || jury_ == address(0)) {
            revert DisputeGameInvalidConfiguration();
        }
        _market = IJobMarket(market);
        _attestations = IAttestations(attestations);
        _jury = IJury(jury_);
    }

    // --- challenges and claims ---

    /// @inheritdoc IDisputeGame
    function commitChallenge(bytes32 hash) external {
        if (_commits[msg.sender][hash].blockNumber != 0) revert DisputeGameBadCommit(hash);
        uint64 seq = ++_commitSeq;
        _commits[msg.sender][hash] = ChallengeCommit(seq, uint64(block.number));
        emit ChallengeCommitted(hash, msg.sender, seq);
    }

    /// @inheritdoc IDisputeGame
    function revealChallenge(uint256 jobId, uint256 segment, bytes32 salt)
        external
        nonReentrant
        returns (uint256 disputeId)
    {
        IJobMarket.Job memory job = _market.getJob(jobId);
        bytes32 hash = keccak256(abi.encode(jobId, job.attempt, segment, msg.sender, salt));
        ChallengeCommit memory commit = _commits[msg.sender][hash];
        if (commit.blockNumber == 0) revert DisputeGameBadCommit(hash);
        if (commit.blockNumber >= block.number || commit.blockNumber < job.commitBlock) {
            revert DisputeGameCommitTooLate(hash);
        }
        _requireChallengeable(jobId, job);
        if (segment > job.numSegments) revert DisputeGameBadIndex(jobId, segment);
        delete _commits[msg.sender][hash];
        bytes32 key = _segmentKey(jobId, job.attempt, segment);
        if (_segmentChallenged[key] == 0) _segmentChallenged[key] = block.number;
        uint256[] storage list = _segmentDisputes[key];
        if (list.length == _MAX_PER_SEGMENT) revert DisputeGameTooManyDisputes(jobId, segment);
        Kind kind = segment == 0 ? Kind.InitialState : Kind.Segment;
        disputeId = _open(jobId, job, kind, Target.None, segment, msg.sender, job.solver, commit.seq);
        list.push(disputeId);
    }

    /// @inheritdoc IDisputeGame
    function openAvailabilityClaim(uint256 jobId, Target target, uint256 index)
        external
        nonReentrant
        returns (uint256 disputeId)
    {
        IJobMarket.Job memory job = _market.getJob(jobId);
        address respondent = job.solver;
        if (target == Target.Dataset) {
            if (
                job.status != IJobMarket.JobStatus.Claimed || msg.sender != job.solver
                    || block.timestamp > job.deadline
            ) revert DisputeGameNotChallengeable(jobId);
            if (_datasetClaims[jobId] == uint256(job.attempt) + 1) revert DisputeGameDatasetClaimed(jobId, job.attempt);
            _datasetClaims[jobId] = uint256(job.attempt) + 1;
            respondent = job.submitter;
        } else {
            _requireChallengeable(jobId, job);
            if (msg.sender != job.submitter && !IVerifierDraws(address(_registry)).isVerifier(msg.sender)) {
                revert DisputeGameNotChallengeable(jobId);
            }
        }
        if (target == Target.None || (target == Target.Checkpoint ? index > job.numSegments : index != 0)) {
            revert DisputeGameBadIndex(jobId, index);
        }
        disputeId = _open(jobId, job, Kind.Availability, target, index, msg.sender, respondent, ++_commitSeq);
        _toJury(disputeId, _disputes[disputeId], 0, 0, 0);
    }

    // --- openings and bisection ---

    /// @inheritdoc IDisputeGame
    function openSegment(
        uint256 disputeId,
        bytes32[4] calldata commitment,
        bytes32 hashStart,
        bytes32[] calldata startProof,
        bytes32 hashEnd,
        bytes32[] calldata endProof,
        bytes32 segRoot,
        bytes32[] calldata segProof,
        bytes32[] calldata step0Proof,
        bytes32[] calldata stepKProof
    ) external {
        Dispute storage d = _move(disputeId, Phase.Opening, true);
        if (d.kind != Kind.Segment) revert DisputeGameWrongKind(disputeId, d.kind);
        uint256 n = _checkCommitment(d, commitment);
        uint256 jobId = d.jobId;
        uint256 attempt = d.attempt;
        uint256 i = d.segment;
        uint256 k = d.checkpointEvery;
        if (!_verify(commitment[0], TraceMerkle.checkpointLeaf(jobId, attempt, i - 1, hashStart), i - 1, n + 1, startProof))
        {
            revert DisputeGameBadOpening(disputeId, 1);
        }
        if (!_verify(commitment[0], TraceMerkle.checkpointLeaf(jobId, attempt, i, hashEnd), i, n + 1, endProof)) {
            revert DisputeGameBadOpening(disputeId, 2);
        }
        if (!_verify(commitment[1], TraceMerkle.segmentLeaf(jobId, attempt, i, segRoot), i - 1, n, segProof)) {
            revert DisputeGameBadOpening(disputeId, 3);
        }
        if (!_verify(segRoot, TraceMerkle.stepLeaf(jobId, attempt, i, 0, hashStart), 0, k + 1, step0Proof)) {
            revert DisputeGameBadOpening(disputeId, 4);
        }
        if (!_verify(segRoot, TraceMerkle.stepLeaf(jobId, attempt, i, k, hashEnd), k, k + 1, stepKProof)) {
            revert DisputeGameBadOpening(disputeId, 5);
        }
        d.segRoot = segRoot;
        d.lo = 0;
        d.hi = uint32(k);
        d.hashLo = hashStart;
        d.hashHi = hashEnd;
        d.phase = Phase.Propose;
        emit SegmentOpened(disputeId, segRoot, hashStart, hashEnd);
    }

    /// @inheritdoc IDisputeGame
    function openInitialState(
        uint256 disputeId,
        bytes32[4] calldata commitment,
        bytes32 stateHash0,
        bytes32[] calldata proof
    ) external {
        Dispute storage d = _move(disputeId, Phase.Opening, true);
        if (d.kind != Kind.InitialState) revert DisputeGameWrongKind(disputeId, d.kind);
        uint256 n = _checkCommitment(d, commitment);
        if (!_verify(commitment[0], TraceMerkle.checkpointLeaf(d.jobId, d.attempt, 0, stateHash0), 0, n + 1, proof)) {
            revert DisputeGameBadOpening(disputeId, 6);
        }
        d.hashHi = stateHash0;
        emit InitialStateOpened(disputeId, stateHash0);
        _toJury(disputeId, d, 0, 0, stateHash0);
    }

    /// @inheritdoc IDisputeGame
    function proposeSplit(uint256 disputeId, bytes32[] calldata hashes) external {
        Dispute storage d = _move(disputeId, Phase.Propose, true);
        uint256[] memory points = _points(d.lo, d.hi);
        if (hashes.length != points.length) revert DisputeGameBadSplit(disputeId, points.length);
        d.splitHash = keccak256(abi.encode(hashes));
        d.phase = Phase.Choose;
        emit SplitProposed(disputeId, points, hashes);
    }

    /// @inheritdoc IDisputeGame
    function chooseRange(uint256 disputeId, uint256 k, bytes32[] calldata hashes) external {
        Dispute storage d = _move(disputeId, Phase.Choose, false);
        if (keccak256(abi.encode(hashes)) != d.splitHash || k > hashes.length) revert DisputeGameBadChoice(disputeId, k);
        uint256[] memory points = _points(d.lo, d.hi);
        uint256 lo = k == 0 ? d.lo : points[k - 1];
        uint256 hi = k == points.length ? d.hi : points[k];
        bytes32 hashLo = k == 0 ? d.hashLo : hashes[k - 1];
        bytes32 hashHi = k == points.length ? d.hashHi : hashes[k];
        // splitHash stays non-zero: the next proposal rewrites a warm, non-zero slot
        (d.lo, d.hi, d.hashLo, d.hashHi) = (uint32(lo), uint32(hi), hashLo, hashHi);
        d.phase = hi - lo == 1 ? Phase.Confirm : Phase.Propose;
        emit RangeChosen(disputeId, lo, hi, hashLo, hashHi);
    }

    /// @inheritdoc IDisputeGame
    function confirmStep(uint256 disputeId, bytes32[] calldata loProof, bytes32[] calldata hiProof) external {
        Dispute storage d = _move(disputeId, Phase.Confirm, true);
        (uint256 jobId, uint256 attempt, uint256 i, uint256 k) = (d.jobId, d.attempt, d.segment, d.checkpointEvery);
        (uint256 lo, bytes32 segRoot) = (d.lo, d.segRoot);
        if (!_verify(segRoot, TraceMerkle.stepLeaf(jobId, attempt, i, lo, d.hashLo), lo, k + 1, loProof)) {
            revert DisputeGameBadSplit(disputeId, 0);
        }
        if (!_verify(segRoot, TraceMerkle.stepLeaf(jobId, attempt, i, lo + 1, d.hashHi), lo + 1, k + 1, hiProof)) {
            revert DisputeGameBadSplit(disputeId, 1);
        }
        _toJury(disputeId, d, (i - 1) * k + lo, d.hashLo, d.hashHi);
    }

    /// @inheritdoc IDisputeGame
    function timeout(uint256 disputeId) external nonReentrant {
        Dispute storage d = _dispute(disputeId);
        Phase phase = d.phase;
        if (phase != Phase.Opening && phase != Phase.Propose && phase != Phase.Choose && phase != Phase.Confirm) {
            revert DisputeGameWrongPhase(disputeId, phase);
        }
        if (_isStale(d)) return _void(disputeId, d);
        bool solverMoves = phase != Phase.Choose;
        uint256 deadline = uint256(d.lastMoveAt) + (solverMoves ? d.solverClock : d.challengerClock);
        if (block.timestamp <= deadline) revert DisputeGameClockRunning(disputeId, deadline);
        emit DisputeTimedOut(disputeId, solverMoves ? d.solver : d.challenger);
        _settle(disputeId, d, solverMoves);
    }

    // --- jury ---

    /// @inheritdoc IDisputeGame
    function onVerdict(uint256 disputeId, bool solverWrong) external nonReentrant {
        if (msg.sender != address(_jury)) revert DisputeGameUnauthorized(msg.sender);
        Dispute storage d = _dispute(disputeId);
        if (d.phase != Phase.Jury) revert DisputeGameWrongPhase(disputeId, d.phase);
        if (_isStale(d)) return _void(disputeId, d);
        _settle(disputeId, d, solverWrong);
    }

    /// @inheritdoc IDisputeGame
    function onNoJury(uint256 disputeId) external nonReentrant {
        if (msg.sender != address(_jury)) revert DisputeGameUnauthorized(msg.sender);
        Dispute storage d = _dispute(disputeId);
        if (d.phase != Phase.Jury) revert DisputeGameWrongPhase(disputeId, d.phase);
        bool stale = _isStale(d);
        _void(disputeId, d);
        if (stale) return;
        _market.unfreezeJob(d.jobId); // extends by the frozen time, within the attempt's cap
    }

    /// @inheritdoc IDisputeGame
    function voidStale(uint256 disputeId) external nonReentrant {
        Dispute storage d = _dispute(disputeId);
        if (d.phase == Phase.Resolved || !_isStale(d)) revert DisputeGameNotStale(disputeId);
        _void(disputeId, d);
    }

    // --- views ---

    /// @inheritdoc IDisputeGame
    function getDispute(uint256 disputeId) external view returns (Dispute memory) {
        return _dispute(disputeId);
    }

    /// @inheritdoc IDisputeGame
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    /// @inheritdoc IDisputeGame
    function jury() external view returns (address) {
        return address(_jury);
    }

    /// @inheritdoc IDisputeGame
    function splitPoints(uint256 disputeId) external view returns (uint256[] memory) {
        Dispute storage d = _dispute(disputeId);
        return _points(d.lo, d.hi);
    }

    /// @inheritdoc IDisputeGame
    function challengeBondOf(uint256 jobId) external view returns (uint256) {
        return _bondFor(_market.getJob(jobId).reward);
    }

    /// @inheritdoc IDisputeGame
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @inheritdoc IDisputeGame
    function segmentChallengedAt(uint256 jobId, uint256 attempt, uint256 segment) external view returns (uint256) {
        return _segmentChallenged[_segmentKey(jobId, attempt, segment)];
    }

    /// @inheritdoc IDisputeGame
    function challengeFeeOf(uint256 jobId) external view returns (uint256) {
        return _bondFor(_market.getJob(jobId).reward) * _params.challengeFeeBps / _BPS;
    }

    // --- internals: opening and moving ---

    function _open(
        uint256 jobId,
        IJobMarket.Job memory job,
        Kind kind,
        Target target,
        uint256 index,
        address challenger,
        address solver,
        uint64 commitSeq
    ) private returns (uint256 disputeId) {
        uint256 bond = _bondFor(job.reward);
        disputeId = ++_disputeCount;
        Dispute storage d = _disputes[disputeId];
        uint32 clock = _params.moveClock;
        (d.jobId, d.attempt, d.segment, d.kind, d.target, d.phase) =
            (uint64(jobId), job.attempt, uint32(index), kind, target, Phase.Opening);
        (d.solverClock, d.challengerClock, d.challenger, d.bond) = (clock, clock, challenger, uint96(bond));
        (d.checkpointEvery, d.numSegments, d.commitment) = (job.checkpointEvery, job.numSegments, job.commitment);
        (d.solver, d.commitSeq, d.openedAt, d.lastMoveAt) =
            (solver, commitSeq, uint64(block.timestamp), uint64(block.timestamp));
        emit DisputeOpened(disputeId, jobId, job.attempt, kind, target, index, challenger, solver, bond, commitSeq);
        _registry.lock(challenger, bond + (kind == Kind.Availability ? 0 : bond * _params.challengeFeeBps / _BPS));
        _market.freezeJob(jobId);
    }

    /// @dev The dispute, in `phase`, moved by the right party within its clock; charges the clock. A move
    /// on a dispute whose job attempt already ended is harmless (it can only be voided), so no check.
    function _move(uint256 disputeId, Phase phase, bool solverMoves) private returns (Dispute storage d) {
        d = _dispute(disputeId);
        if (d.phase != phase) revert DisputeGameWrongPhase(disputeId, d.phase);
        if (msg.sender != (solverMoves ? d.solver : d.challenger)) revert DisputeGameNotYourMove(disputeId, msg.sender);
        uint256 elapsed = block.timestamp - d.lastMoveAt;
        uint256 clock = solverMoves ? d.solverClock : d.challengerClock;
        if (elapsed > clock) revert DisputeGameOutOfTime(disputeId, uint256(d.lastMoveAt) + clock);
        if (solverMoves) d.solverClock = uint32(clock - elapsed);
        else d.challengerClock = uint32(clock - elapsed);
        d.lastMoveAt = uint64(block.timestamp);
    }

    /// @dev Pin the dispute for the jury: the panel requests its seed, snapshot = this block.
    function _toJury(uint256 disputeId, Dispute storage d, uint256 step, bytes32 hashBefore, bytes32 hashAfter) private {
        d.phase = Phase.Jury;
        emit StepPinned(disputeId, step, hashBefore, hashAfter);
        _jury.start(disputeId, d.solver, d.challenger, _market.submitterOf(d.jobId));
    }

    function _dispute(uint256 disputeId) private view returns (Dispute storage d) {
        d = _disputes[disputeId];
        if (d.phase == Phase.None) revert DisputeGameUnknownDispute(disputeId);
    }

    /// @dev The preimage must hash to the commitment of the disputed attempt (stored at opening).
    function _checkCommitment(Dispute storage d, bytes32[4] calldata commitment) private view returns (uint256 n) {
        if (keccak256(abi.encode(commitment)) != d.commitment) revert DisputeGameCommitmentMismatch(d.jobId);
        return d.numSegments;
    }

    /// @dev Challenges and non-dataset claims: Committed, until the end of the reveal phase.
    function _requireChallengeable(uint256 jobId, IJobMarket.Job memory job) private view {
        if (
            job.status != IJobMarket.JobStatus.Committed
                || block.timestamp > uint256(job.deadline) + _market.revealPhase()
        ) revert DisputeGameNotChallengeable(jobId);
    }

    /// @dev The job attempt the dispute is about is over (reopened, aborted or finalized).
    function _isStale(Dispute storage d) private view returns (bool) {
        IJobMarket.Job memory job = _market.getJob(d.jobId);
        IJobMarket.JobStatus expected =
            d.target == Target.Dataset ? IJobMarket.JobStatus.Claimed : IJobMarket.JobStatus.Committed;
        return job.attempt != d.attempt || job.status != expected;
    }

    /// @dev Split points of [lo, hi]: lo + (k·L)/s for k = 1..s-1, s = min(degree, L).
    function _points(uint256 lo, uint256 hi) private view returns (uint256[] memory points) {
        uint256 length = hi - lo;
        uint256 s = length < _params.bisectionDegree ? length : _params.bisectionDegree;
        if (s == 0) return points;
        points = new uint256[](s - 1);
        for (uint256 k = 1; k < s; ++k) {
            points[k - 1] = lo + (k * length) / s;
        }
    }

    function _verify(bytes32 root, bytes32 leaf, uint256 index, uint256 leafCount, bytes32[] calldata proof)
        private
        pure
        returns (bool)
    {
        return index < leafCount && proof.length == TraceMerkle.depth(leafCount)
            && TraceMerkle.verify(root, leaf, index, leafCount, proof);
    }

    function _bondFor(uint256 reward) private view returns (uint256) {
        uint256 tenth = reward / 10;
        return tenth > _params.minChallengeBond ? tenth : _params.minChallengeBond;
    }

    function _segmentKey(uint256 jobId, uint256 attempt, uint256 segment) private pure returns (bytes32) {
        return keccak256(abi.encode(jobId, attempt, segment));
    }

    // --- internals: settlement ---

    /// @dev Settle jurors (if a panel ran), pay from the loser, and close the dispute.
    function _settle(uint256 disputeId, Dispute storage d, bool solverWrong) private {
        bool hadJury = d.phase == Phase.Jury;
        (d.phase, d.outcome) = (Phase.Resolved, solverWrong ? Outcome.SolverWrong : Outcome.ChallengerWrong);
        IJobMarket.Job memory job = _market.getJob(d.jobId);
        (address[] memory payees, uint256[] memory amounts, uint256 fees) = hadJury
            ? _settleJurors(disputeId, d, solverWrong, job.reward)
            : (new address[](2), new uint256[](2), 0);
        if (!hadJury) {
            assembly ("memory-safe") {
                mstore(payees, 0)
                mstore(amounts, 0)
            }
        }
        if (d.kind != Kind.Availability) _removeFromSegment(d, disputeId);
        if (!solverWrong) return _challengerLost(disputeId, d, payees, amounts, fees);
        if (d.target == Target.Dataset) {
            emit DisputeResolved(disputeId, Outcome.SolverWrong, d.challenger, 0, fees, 0);
            _registry.unlock(d.challenger, d.bond);
            _market.abortJob(d.jobId, payees, amounts);
            return;
        }
        _solverLost(disputeId, d, payees, amounts, fees, job.submitter);
    }

    /// @dev The solver's whole lock: jury fees, `submitterBps` of the rest to the submitter, and for a
    /// challenge `jackpotBps` split equally among every open challenge of the convicted segment (the
    /// convicting one gets the dust). An availability claim pays no jackpot (burned): the contract
    /// cannot tell a claimant from the cheater's own sybil. See DISPUTES.md, "Jackpot".
    function _solverLost(
        uint256 disputeId,
        Dispute storage d,
        address[] memory feePayees,
        uint256[] memory feeAmounts,
        uint256 fees,
        address submitter
    ) private {
        uint256 rest = _market.solverLockOf(d.jobId) - fees; // fees are capped by _settleJurors
        bool challenge = d.kind != Kind.Availability;
        uint256 jackpot = challenge ? rest * _params.jackpotBps / _BPS : 0;
        uint256 toSubmitter = rest * _params.submitterBps / _BPS;
        bytes32 key = _segmentKey(d.jobId, d.attempt, d.segment);
        uint256[] memory others = challenge ? _segmentDisputes[key] : new uint256[](0);
        uint256 share = jackpot / (others.length + 1);
        uint256 m = feePayees.length;
        uint256 count = m + 1 + (challenge ? 1 + others.length : 0);
        address[] memory payees = new address[](count);
        uint256[] memory amounts = new uint256[](count);
        for (uint256 k; k < m; ++k) {
            (payees[k], amounts[k]) = (feePayees[k], feeAmounts[k]);
        }
        (payees[m], amounts[m]) = (submitter, toSubmitter);
        uint256 winnerPaid = jackpot - share * others.length;
        if (challenge) (payees[m + 1], amounts[m + 1]) = (d.challenger, winnerPaid);
        for (uint256 k; k < others.length; ++k) {
            (payees[m + 2 + k], amounts[m + 2 + k]) = (_disputes[others[k]].challenger, share);
        }
        for (uint256 k; k < others.length; ++k) {
            _shareConviction(others[k], disputeId, share);
        }
        if (others.length != 0) delete _segmentDisputes[key];
        // last, so indexers read the credits of `reopenJob` in the context of the convicting dispute
        emit DisputeResolved(
            disputeId, Outcome.SolverWrong, challenge ? d.challenger : address(0), winnerPaid, fees, rest - jackpot - toSubmitter
        );
        _releaseBond(d, true);
        uint256 segment = d.segment;
        _market.reopenJob(d.jobId, payees, amounts);
        if (d.kind == Kind.Segment) _slashAttesters(disputeId, d.jobId, d.attempt, segment);
    }

    /// @dev An open challenge of the convicted segment: it ends with the conviction (Void: it proved
    /// nothing itself), its bond is released, its fee burned, its share paid by `_solverLost`.
    function _shareConviction(uint256 disputeId, uint256 convictedBy, uint256 share) private {
        Dispute storage d = _disputes[disputeId];
        bool hadJury = d.phase == Phase.Jury;
        (d.phase, d.outcome) = (Phase.Resolved, Outcome.Void);
        emit JackpotShared(disputeId, convictedBy, d.challenger, share);
        emit DisputeResolved(disputeId, Outcome.Void, d.challenger, share, 0, 0);
        _releaseBond(d, true);
        if (hadJury) _jury.release(disputeId);
    }

    /// @dev Unlock the bond; the challenge fee (none for claims) is burned or, when `burnFee` is
    /// false (the attempt ended otherwise), released too.
    function _releaseBond(Dispute storage d, bool burnFee) private {
        uint256 fee = _feeOf(d);
        if (!burnFee) return _registry.unlock(d.challenger, uint256(d.bond) + fee);
        _registry.unlock(d.challenger, d.bond);
        _registry.burn(d.challenger, fee);
    }

    function _feeOf(Dispute storage d) private view returns (uint256) {
        return d.kind == Kind.Availability ? 0 : uint256(d.bond) * _params.challengeFeeBps / _BPS;
    }

    function _challengerLost(
        uint256 disputeId,
        Dispute storage d,
        address[] memory payees,
        uint256[] memory amounts,
        uint256 fees
    ) private {
        uint256 bond = d.bond;
        uint256 toSolver = (bond - fees) * _params.bondToSolverBps / _BPS;
        uint256 m = payees.length;
        assembly ("memory-safe") {
            mstore(payees, add(m, 1))
            mstore(amounts, add(m, 1))
        }
        (payees[m], amounts[m]) = (d.solver, toSolver);
        emit DisputeResolved(disputeId, Outcome.ChallengerWrong, d.solver, toSolver, fees, bond - fees - toSolver);
        _market.settleStake(d.challenger, bond, payees, amounts);
        _registry.burn(d.challenger, _feeOf(d));
        _market.unfreezeJob(d.jobId);
    }

    /// @dev Unlock / slash the jurors through the panel; return the fee payees (with room for 2 more
    /// entries) and the total fee, capped by what the loser has. Slashed juror stake is burned.
    function _settleJurors(uint256 disputeId, Dispute storage d, bool solverWrong, uint256 reward)
        private
        returns (address[] memory payees, uint256[] memory amounts, uint256 fees)
    {
        uint256 budget = solverWrong ? (d.target == Target.Dataset ? reward : _market.solverLockOf(d.jobId)) : d.bond;
        address[] memory slashed;
        uint256[] memory slashes;
        (payees, amounts, slashed, slashes) =
            _jury.settle(disputeId, solverWrong, reward * _params.jurorFeeBps / _BPS, budget);
        uint256 m = payees.length;
        address[] memory roomyPayees = new address[](m + 2);
        uint256[] memory roomyAmounts = new uint256[](m + 2);
        for (uint256 k; k < m; ++k) {
            (roomyPayees[k], roomyAmounts[k]) = (payees[k], amounts[k]);
            fees += amounts[k];
        }
        assembly ("memory-safe") {
            mstore(roomyPayees, m)
            mstore(roomyAmounts, m)
        }
        (payees, amounts) = (roomyPayees, roomyAmounts);
        for (uint256 k; k < slashed.length; ++k) {
            emit JurorSlashed(disputeId, slashed[k], slashes[k]);
            _market.settleStake(slashed[k], slashes[k], new address[](0), new uint256[](0));
        }
    }

    function _removeFromSegment(Dispute storage d, uint256 disputeId) private {
        uint256[] storage list = _segmentDisputes[_segmentKey(d.jobId, d.attempt, d.segment)];
        for (uint256 k; k < list.length; ++k) {
            if (list[k] == disputeId) {
                list[k] = list[list.length - 1];
                list.pop();
                return;
            }
        }
    }

    function _slashAttesters(uint256 disputeId, uint256 jobId, uint256 attempt, uint256 segment) private {
        address[] memory attesters = _attestations.revealersOf(jobId, attempt, segment);
        if (attesters.length == 0) return;
        uint256[] memory amounts = new uint256[](attesters.length);
        uint256 slash = _attestations.attesterSlash();
        for (uint256 k; k < attesters.length; ++k) {
            amounts[k] = _registry.lockUpTo(attesters[k], slash); // unbonding stake included
        }
        emit AttestersSlashed(disputeId, attesters, amounts);
        for (uint256 k; k < attesters.length; ++k) {
            _market.settleStake(attesters[k], amounts[k], new address[](0), new uint256[](0));
        }
    }

    /// @dev The job attempt moved on: release the bond and every juror lock.
    function _void(uint256 disputeId, Dispute storage d) private {
        bool hadJury = d.phase == Phase.Jury;
        (d.phase, d.outcome) = (Phase.Resolved, Outcome.Void);
        if (d.kind != Kind.Availability) _removeFromSegment(d, disputeId);
        emit DisputeResolved(disputeId, Outcome.Void, address(0), 0, 0, 0);
        _releaseBond(d, false);
        if (hadJury) _jury.release(disputeId);
    }
}
