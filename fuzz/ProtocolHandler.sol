// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAttestations} from "../contracts/interfaces/IAttestations.sol";
import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {IJobMarket} from "../contracts/interfaces/IJobMarket.sol";
import {IJury} from "../contracts/interfaces/IJury.sol";
import {IRoundsMarket} from "../contracts/interfaces/IRoundsMarket.sol";
import {IStakeRegistry} from "../contracts/interfaces/IStakeRegistry.sol";
import {TraceMerkle} from "../contracts/libraries/TraceMerkle.sol";

import {ICrowdToken, IRegistry, ProtocolSystem} from "./ProtocolSystem.sol";
import {TraceTree} from "./TraceTree.sol";
import {VM, Vm} from "./Vm.sol";

/// @notice Random actors driving the deployed protocol: post, claim, commit (honest or lying traces),
/// attest, challenge, open, bisect, vote, time out, withdraw, and move the clock. Each action picks
/// its targets from fuzzed seeds among the states where it can succeed, and keeps ghost records of
/// what the protocol owes so the invariants can check it independently of the contracts' own books.
/// @dev A reverted action reverts its ghost updates too. Block time and number live in `now_` and
/// `blockNo` and are re-applied at the start of every action, so they move only through `advance`.
contract ProtocolHandler {
    /// @notice A deliberately broken action for the negative controls (None in the real suite).
    enum Sabotage {
        None,
        LeakSlash, // a protocol contract slashes stake to itself without booking it (conservation)
        CorruptLock, // the registry's locked stake exceeds the stake (locked <= staked)
        LeakFreeze, // the dispute game freezes a job and never unfreezes it (no escrow stuck)
        CreditTwice, // a finalized job's reward is credited to its solver a second time (paid once)
        ReviveJob // a finalized or cancelled job becomes Open again (state machine)

    }

    uint256 internal constant CROWD = 1e18;
    uint256 internal constant ACTORS = 6;
    uint256 internal constant MAX_JOBS = 10;
    /// @dev Rounds jobs of at most 3 slots by 2 rounds: their units are ordinary jobs beyond MAX_JOBS.
    uint256 internal constant MAX_ROUNDS_JOBS = 2;
    uint256 internal constant HONEST = type(uint256).max;
    address public constant BURN = address(0xdEaD);

    ProtocolSystem public immutable sys;
    ICrowdToken internal immutable token;
    IRegistry internal immutable registry;
    IAttestations internal immutable attestations;
    IJury internal immutable jury;
    IDisputeGame internal immutable game;
    IJobMarket internal immutable market;
    IRoundsMarket internal immutable rounds;
    Sabotage public immutable sabotage;
    address[] public actors;

    uint256 public now_;
    uint256 public blockNo;

    // --- ghosts ---
    uint256 public ghostMinted;
    uint256 public ghostEscrowPosted;
    uint256 public ghostCredited;
    uint256 public ghostSlashedToMarket;
    mapping(address account => uint256) public ghostCreditedTo;
    mapping(address account => uint256) public ghostWithdrawnBy;
    mapping(uint256 jobId => uint256) public ghostFinalizations;
    /// @dev Σ StakeBurned: challenge fees and slashed juror stake sent to the burn address.
    uint256 public ghostBurned;
    /// @dev DisputeResolved events per dispute (each dispute is settled once).
    mapping(uint256 disputeId => uint256) public ghostResolutions;
    /// @dev payouts that break the jackpot split (a dispute settled twice, unequal shares, a winner
    /// paid more than its share plus the rounding dust); the first one described.
    uint256 public ghostBadPayouts;
    string public ghostFirstBadPayout;
    uint256 public ghostJackpotShares;
    uint256 public ghostBadTransitions;
    string public ghostFirstBadTransition;
    mapping(uint256 jobId => IJobMarket.JobStatus) internal _lastStatus;
    mapping(uint256 jobId => uint256) internal _lastAttempt;
    mapping(bytes4 action => uint256) public calls;

    /// @dev cheat step + 1 of the trace committed for (job, attempt); 0: none committed.
    mapping(uint256 jobId => mapping(uint256 attempt => uint256 cheatFromPlusOne)) internal _traces;

    struct PendingChallenge {
        address challenger;
        uint256 jobId;
        uint256 attempt;
        uint256 segment;
        bytes32 salt;
    }

    PendingChallenge[] internal _pending;
    /// @dev the digest each voter committed: keccak256(disputeId, round, voter) => digest.
    mapping(bytes32 key => bytes32 digest) internal _votes;
    /// @dev how each attester committed: keccak256(jobId, attempt, attester) => 1 copy the solver, 2 the truth.
    mapping(bytes32 key => uint256 mode) internal _attestModes;

    constructor(Sabotage sabotage_) {
        sabotage = sabotage_;
        sys = new ProtocolSystem();
        (token, registry, attestations) = (sys.token(), sys.registry(), sys.attestations());
        (jury, game, market, rounds) = (sys.jury(), sys.game(), sys.market(), sys.rounds());
        now_ = 1_700_000_000;
        blockNo = 1_000;
        VM.warp(now_);
        VM.roll(blockNo);
        for (uint256 k; k < ACTORS; ++k) {
            address actor = address(uint160(0xA110 + k));
            actors.push(actor);
            _mint(actor, 5_000 * CROWD);
            _stake(actor, 1_000 * CROWD);
            VM.prank(actor);
            registry.registerVerifier();
        }
        _advance(1, 1); // draws read a snapshot strictly before the current block
    }

    modifier action() {
        VM.warp(now_);
        VM.roll(blockNo);
        VM.recordLogs();
        ++calls[msg.sig];
        _;
        _afterAction();
    }

    // ====================================================================================
    // Actions (the fuzzer's targets)
    // ====================================================================================

    function postJob(uint256 actorSeed, uint256 rewardSeed, uint256 feeSeed, uint256 shapeSeed, uint256 timeoutSeed)
        external
        action
    {
        require(market.jobCount() < MAX_JOBS, "enough jobs");
        address submitter = _actor(actorSeed);
        uint96 reward = uint96(1 + rewardSeed % (150 * CROWD));
        uint96 fee = uint96(feeSeed % (20 * CROWD));
        uint32 k = shapeSeed % 2 == 0 ? 2 : 4;
        uint32 n = uint32(1 + (shapeSeed >> 1) % 4);
        uint16 rate = uint16(500 + (shapeSeed >> 8) % 9_501);
        uint32 timeout = uint32(60 + timeoutSeed % 600);
        _topUp(submitter, uint256(reward) + fee);
        IJobMarket.PriceTerms memory terms = _priceTerms(reward, feeSeed >> 64);
        _postJob(submitter, keccak256(abi.encode("spec", shapeSeed)), n * k, k, reward, fee, timeout, rate, terms);
        ghostEscrowPosted += uint256(reward) + fee;
    }

    /// @notice A rounds job (docs/ROUNDS.md): its whole escrow enters JobMarket's rounds reserve, round 0's
    /// units are posted as ordinary jobs that every job action then drives.
    function postRoundsJob(uint256 actorSeed, uint256 shapeSeed, uint256 rewardSeed) external action {
        require(rounds.roundsJobCount() < MAX_ROUNDS_JOBS, "enough rounds jobs");
        address submitter = _actor(actorSeed);
        RoundsArgs memory a;
        a.workers = uint32(1 + shapeSeed % 3);
        a.rounds = uint32(1 + (shapeSeed >> 2) % 2);
        a.quorum = uint32(1 + (shapeSeed >> 4) % a.workers);
        a.k = (shapeSeed >> 6) % 2 == 0 ? 2 : 4;
        a.steps = uint32(1 + (shapeSeed >> 7) % 4) * a.k;
        a.reward = uint96(1 + rewardSeed % (150 * CROWD));
        a.fee = uint96((rewardSeed >> 128) % (20 * CROWD));
        a.timeout = uint32(60 + (shapeSeed >> 9) % 600);
        a.roundTimeout = a.timeout + 180 + uint32((shapeSeed >> 20) % 600);
        a.specHash = keccak256(abi.encode("rounds", shapeSeed));
        a.terms = _priceTerms(a.reward, rewardSeed >> 64);
        uint256 escrow = (uint256(a.reward) + a.fee) * a.workers * a.rounds;
        _topUp(submitter, escrow);
        VM.prank(submitter);
        token.approve(address(rounds), escrow);
        VM.prank(submitter);
        _postRounds(a);
        ghostEscrowPosted += escrow;
    }

    /// @notice Anyone closes (or reopens) a rounds job's current round.
    function closeRound(uint256 roundsSeed) external action {
        rounds.closeRound(_roundsId(roundsSeed));
    }

    /// @notice A rounds job's submitter cancels it.
    function cancelRoundsJob(uint256 roundsSeed) external action {
        uint256 id = _roundsId(roundsSeed);
        VM.prank(rounds.getRoundsJob(id).submitter);
        rounds.cancelRoundsJob(id);
    }

    /// @notice Anyone cancels the units of a round that no longer gates its rounds job and are Open again.
    function cancelStaleUnits(uint256 jobSeed) external action {
        (uint256 jobId,) = _jobIn(jobSeed, IJobMarket.JobStatus.Open);
        (uint256 roundsId, uint32 round,) = rounds.unitOf(jobId);
        require(roundsId != 0, "not a unit");
        rounds.cancelStaleUnits(roundsId, round);
    }

    function cancelJob(uint256 jobSeed) external action {
        (uint256 jobId, IJobMarket.Job memory job) = _jobIn(jobSeed, IJobMarket.JobStatus.Open);
        VM.prank(job.submitter);
        market.cancelJob(jobId);
    }

    function claimJob(uint256 actorSeed, uint256 jobSeed) external action {
        (uint256 jobId,) = _jobIn(jobSeed, IJobMarket.JobStatus.Open);
        address solver = _actor(actorSeed);
        uint256 lock = market.solverLockOf(jobId);
        uint256 free = registry.freeStakeOf(solver);
        if (free < lock) _stake(solver, lock - free);
        VM.prank(solver);
        market.claimJob(jobId);
    }

    /// @param cheatSeed a third of the commits are honest; the others lie from a random step on.
    function commitTrace(uint256 jobSeed, uint256 cheatSeed) external action {
        (uint256 jobId, IJobMarket.Job memory job) = _jobIn(jobSeed, IJobMarket.JobStatus.Claimed);
        uint256 steps = uint256(job.numSegments) * job.checkpointEvery;
        uint256 cheatFrom = cheatSeed % 3 == 0 ? HONEST : (cheatSeed >> 2) % (steps + 1);
        _traces[jobId][job.attempt] = cheatFrom == HONEST ? HONEST : cheatFrom + 1;
        bytes32[4] memory c = _commitment(jobId, job);
        bytes32[] memory checkpoints = _checkpointLeaves(jobId, job);
        VM.prank(job.solver);
        market.commitTrace(
            jobId, c[0], c[1], c[2], c[3], TraceTree.proof(checkpoints, job.numSegments)
        );
    }

    function recordAttesterSeed(uint256 jobSeed) external action {
        (uint256 jobId,) = _jobIn(jobSeed, IJobMarket.JobStatus.Committed);
        attestations.recordSeed(jobId);
    }

    /// @param honest odd: the attester commits the true segment roots; even: it copies the solver's.
    function commitAttestation(uint256 jobSeed, uint256 attesterSeed, uint256 honest) external action {
        (uint256 jobId, IJobMarket.Job memory job) = _jobIn(jobSeed, IJobMarket.JobStatus.Committed);
        IAttestations.Attester[] memory list = attestations.attestersOf(jobId, job.attempt);
        require(list.length != 0, "no attesters");
        address attester = list[attesterSeed % list.length].account;
        uint256 mode = honest % 2 == 1 ? 2 : 1;
        _attestModes[keccak256(abi.encode(jobId, job.attempt, attester))] = mode;
        (bytes32[] memory roots,) = _attestation(jobId, job, attester, mode);
        uint256[] memory segments = attestations.assignedSegments(jobId, attester);
        bytes32[] memory hashes = new bytes32[](segments.length);
        for (uint256 t; t < segments.length; ++t) {
            hashes[t] = keccak256(abi.encode(jobId, job.attempt, segments[t], roots[t], attester, _salt(attester)));
        }
        VM.prank(attester);
        attestations.commitAttestation(jobId, keccak256(abi.encode(hashes)));
    }

    function revealAttestation(uint256 jobSeed, uint256 attesterSeed) external action {
        (uint256 jobId, IJobMarket.Job memory job) = _jobIn(jobSeed, IJobMarket.JobStatus.Committed);
        IAttestations.Attester[] memory list = attestations.attestersOf(jobId, job.attempt);
        require(list.length != 0, "no attesters");
        address attester = list[attesterSeed % list.length].account;
        uint256 mode = _attestModes[keccak256(abi.encode(jobId, job.attempt, attester))];
        require(mode != 0, "not committed");
        (bytes32[] memory roots, bytes32[][] memory proofs) = _attestation(jobId, job, attester, mode);
        VM.prank(attester);
        attestations.revealAttestation(jobId, _commitment(jobId, job), roots, _salt(attester), proofs);
    }

    function commitChallenge(uint256 actorSeed, uint256 jobSeed, uint256 segmentSeed) external action {
        (uint256 jobId, IJobMarket.Job memory job) = _jobIn(jobSeed, IJobMarket.JobStatus.Committed);
        address challenger = _actor(actorSeed);
        uint256 segment = segmentSeed % (uint256(job.numSegments) + 1);
        bytes32 salt = keccak256(abi.encode("challenge", _pending.length));
        _pending.push(PendingChallenge(challenger, jobId, job.attempt, segment, salt));
        _commitChallenge(challenger, keccak256(abi.encode(jobId, job.attempt, segment, challenger, salt)));
    }

    function revealChallenge(uint256 pendingSeed) external action {
        require(_pending.length != 0, "no commits");
        PendingChallenge memory p = _pending[pendingSeed % _pending.length];
        _ensureFree(p.challenger, game.challengeBondOf(p.jobId) + game.challengeFeeOf(p.jobId)); // bond + fee
        VM.prank(p.challenger);
        game.revealChallenge(p.jobId, p.segment, p.salt);
    }

    /// @param targetSeed Checkpoint, Manifest, FinalModel (a verifier or the submitter, on a commit) or
    /// Dataset (the solver, while Claimed).
    function openAvailabilityClaim(uint256 actorSeed, uint256 jobSeed, uint256 targetSeed, uint256 indexSeed)
        external
        action
    {
        IDisputeGame.Target target = IDisputeGame.Target(1 + targetSeed % 4);
        uint256 jobId;
        IJobMarket.Job memory job;
        address claimant;
        uint256 index;
        if (target == IDisputeGame.Target.Dataset) {
            (jobId, job) = _jobIn(jobSeed, IJobMarket.JobStatus.Claimed);
            claimant = job.solver;
        } else {
            (jobId, job) = _jobIn(jobSeed, IJobMarket.JobStatus.Committed);
            claimant = _actor(actorSeed);
            if (target == IDisputeGame.Target.Checkpoint) index = indexSeed % (uint256(job.numSegments) + 1);
        }
        _ensureFree(claimant, game.challengeBondOf(jobId));
        VM.prank(claimant);
        game.openAvailabilityClaim(jobId, target, index);
    }

    /// @notice The respondent opens its commitment (segment or initial state), from its own trace.
    function openDispute(uint256 disputeSeed) external action {
        (uint256 id, IDisputeGame.Dispute memory d) = _disputeIn(disputeSeed, IDisputeGame.Phase.Opening);
        require(d.kind != IDisputeGame.Kind.Availability, "jury only");
        IJobMarket.Job memory job = _jobAt(d.jobId, d.attempt);
        if (d.kind == IDisputeGame.Kind.Segment) return _openSegment(id, d.solver, d.jobId, job, d.segment);
        bytes32[4] memory c = _commitment(d.jobId, job);
        bytes32[] memory proof = TraceTree.proof(_checkpointLeaves(d.jobId, job), 0);
        bytes32 stateHash0 = _hash(d.jobId, d.attempt, 0);
        VM.prank(d.solver);
        game.openInitialState(id, c, stateHash0, proof);
    }

    function proposeSplit(uint256 disputeSeed) external action {
        (uint256 id, IDisputeGame.Dispute memory d) = _disputeIn(disputeSeed, IDisputeGame.Phase.Propose);
        bytes32[] memory hashes = _proposal(id, d);
        VM.prank(d.solver);
        game.proposeSplit(id, hashes);
    }

    /// @param kSeed odd: the challenger picks the first range where it disagrees; even: a random range.
    function chooseRange(uint256 disputeSeed, uint256 kSeed) external action {
        (uint256 id, IDisputeGame.Dispute memory d) = _disputeIn(disputeSeed, IDisputeGame.Phase.Choose);
        bytes32[] memory hashes = _proposal(id, d);
        uint256 k = (kSeed >> 1) % (hashes.length + 1);
        if (kSeed % 2 == 1) {
            uint256[] memory points = game.splitPoints(id);
            uint256 base = (uint256(d.segment) - 1) * d.checkpointEvery;
            for (k = 0; k < points.length; ++k) {
                if (hashes[k] != _trueHash(d.jobId, base + points[k])) break;
            }
        }
        VM.prank(d.challenger);
        game.chooseRange(id, k, hashes);
    }

    function confirmStep(uint256 disputeSeed) external action {
        (uint256 id, IDisputeGame.Dispute memory d) = _disputeIn(disputeSeed, IDisputeGame.Phase.Confirm);
        bytes32[] memory steps = _stepLeaves(d.jobId, _jobAt(d.jobId, d.attempt), d.segment);
        VM.prank(d.solver);
        game.confirmStep(id, TraceTree.proof(steps, d.lo), TraceTree.proof(steps, uint256(d.lo) + 1));
    }

    function disputeTimeout(uint256 disputeSeed) external action {
        uint256 id = _disputeId(disputeSeed);
        game.timeout(id);
    }

    function voidStale(uint256 disputeSeed) external action {
        game.voidStale(_disputeId(disputeSeed));
    }

    function jurySeed(uint256 disputeSeed) external action {
        jury.recordSeed(_disputeId(disputeSeed));
    }

    /// @param voteSeed picks the voter (a juror of the round, the solver or the challenger) and whether
    /// it votes the truth (3 in 4), the other side, or (the solver only) concedes with digest 0.
    function commitVote(uint256 disputeSeed, uint256 voteSeed) external action {
        uint256 id = _disputeId(disputeSeed);
        IJury.Panel memory p = jury.panelOf(id);
        address voter = _voter(id, p, voteSeed);
        bytes32 truth = keccak256(abi.encode("truth", id));
        bytes32 lie = keccak256(abi.encode("lie", id));
        bytes32 digest;
        if (voter == p.solver) {
            digest = (voteSeed >> 8) % 5 == 0 ? bytes32(0) : (_solverRight(id) ? truth : lie);
        } else {
            digest = (voteSeed >> 8) % 4 == 0 ? lie : truth;
        }
        _votes[keccak256(abi.encode(id, p.round, voter))] = digest;
        VM.prank(voter);
        jury.commitVote(id, keccak256(abi.encode(id, uint256(p.round), voter, digest, _salt(voter))));
    }

    function revealVote(uint256 disputeSeed, uint256 voteSeed) external action {
        uint256 id = _disputeId(disputeSeed);
        IJury.Panel memory p = jury.panelOf(id);
        address voter = _voter(id, p, voteSeed);
        VM.prank(voter);
        jury.revealVote(id, _votes[keccak256(abi.encode(id, p.round, voter))], _salt(voter));
    }

    function juryResolve(uint256 disputeSeed) external action {
        jury.resolve(_disputeId(disputeSeed));
    }

    function reclaimTimedOut(uint256 jobSeed) external action {
        (uint256 jobId,) = _jobIn(jobSeed, IJobMarket.JobStatus.Claimed);
        market.reclaimTimedOut(jobId);
    }

    function finalizeJob(uint256 jobSeed) external action {
        (uint256 jobId,) = _jobIn(jobSeed, IJobMarket.JobStatus.Committed);
        market.finalizeJob(jobId);
        ++ghostFinalizations[jobId];
    }

    function withdrawCredit(uint256 actorSeed) external action {
        address actor = _actor(actorSeed);
        VM.prank(actor);
        market.withdraw();
    }

    function stake(uint256 actorSeed, uint256 amountSeed) external action {
        _stake(_actor(actorSeed), 1 + amountSeed % (500 * CROWD));
    }

    function requestUnstake(uint256 actorSeed, uint256 amountSeed) external action {
        address actor = _actor(actorSeed);
        uint256 free = registry.freeStakeOf(actor);
        require(free != 0, "nothing free");
        VM.prank(actor);
        registry.requestUnstake(1 + amountSeed % free);
    }

    function withdrawStake(uint256 actorSeed) external action {
        address actor = _actor(actorSeed);
        VM.prank(actor);
        registry.withdraw();
    }

    /// @param secondsSeed mostly a few clock ticks (moves, phases), sometimes past every deadline.
    function advance(uint256 secondsSeed, uint256 blocksSeed) external action {
        uint256 dt = secondsSeed % 8 == 0 ? 1_000 + secondsSeed % 4_000 : 1 + secondsSeed % 130;
        _advance(dt, 1 + blocksSeed % 4);
    }

    /// @notice Move one live dispute or job one step along its path (the action the fuzzer would need
    /// several lucky picks in a row for), so deep states are reached in every run.
    function progress(uint256 seed) external {
        VM.warp(now_);
        VM.roll(blockNo);
        uint256 disputes = game.disputeCount();
        if (disputes != 0 && seed % 2 == 0) {
            for (uint256 t; t < disputes; ++t) {
                uint256 id = 1 + ((seed >> 8) + t) % disputes;
                if (game.getDispute(id).phase != IDisputeGame.Phase.Resolved) return _progressDispute(id, seed);
            }
        }
        uint256 jobs = market.jobCount();
        for (uint256 t; t < jobs; ++t) {
            uint256 j = 1 + ((seed >> 8) + t) % jobs;
            if (!sys.isTerminal(market.getJob(j).status)) return _progressJob(j, seed);
        }
        try this.postJob(seed, seed >> 16, seed >> 32, seed >> 48, seed >> 64) {} catch {}
    }

    function _progressDispute(uint256 id, uint256 seed) internal {
        IDisputeGame.Dispute memory d = game.getDispute(id);
        if (d.phase == IDisputeGame.Phase.Opening) {
            try this.openDispute(id - 1) {} catch {}
        } else if (d.phase == IDisputeGame.Phase.Propose) {
            try this.proposeSplit(id - 1) {} catch {}
        } else if (d.phase == IDisputeGame.Phase.Choose) {
            try this.chooseRange(id - 1, seed % 8 == 0 ? seed >> 16 : (seed >> 16) | 1) {} catch {}
        } else if (d.phase == IDisputeGame.Phase.Confirm) {
            try this.confirmStep(id - 1) {} catch {}
        } else {
            IJury.Panel memory p = jury.panelOf(id);
            if (p.phase == IJury.Phase.Seed || p.phase == IJury.Phase.Salt) {
                _advance(1, 3);
                try this.jurySeed(id - 1) {} catch {}
            } else if (p.phase == IJury.Phase.Voting) {
                uint256 voters = jury.jurorsOf(id, p.round).length + 2;
                bool commit = now_ <= p.commitDeadline;
                if (!commit && now_ > p.revealDeadline) {
                    try this.juryResolve(id - 1) {} catch {}
                    return;
                }
                for (uint256 v; v < voters; ++v) {
                    uint256 r = uint8(seed >> (8 + 8 * v));
                    if (r % 8 == 0) continue; // this voter stays silent
                    uint256 voteSeed = v + voters * r;
                    if (commit) {
                        try this.commitVote(id - 1, voteSeed) {} catch {}
                    } else {
                        try this.revealVote(id - 1, voteSeed) {} catch {}
                    }
                }
                uint256 next = commit ? p.commitDeadline : p.revealDeadline;
                if (now_ <= next) _advance(next + 1 - now_, 1);
            }
        }
    }

    function _progressJob(uint256 j, uint256 seed) internal {
        IJobMarket.Job memory job = market.getJob(j);
        if (job.status == IJobMarket.JobStatus.Open) {
            try this.claimJob(seed >> 8, j - 1) {} catch {}
        } else if (job.status == IJobMarket.JobStatus.Claimed) {
            if (seed % 16 == 1) {
                try this.openAvailabilityClaim(0, j - 1, 3, 0) {} catch {}
            } else {
                try this.commitTrace(j - 1, seed >> 8) {} catch {}
            }
        } else {
            (, bytes32 attesterSeed) = attestations.seedOf(j, job.attempt);
            uint256 choice = (seed >> 8) % 5;
            if (attesterSeed == 0) {
                _advance(1, 3);
                try this.recordAttesterSeed(j - 1) {} catch {}
            } else if (choice == 0) {
                try this.commitChallenge(seed >> 16, j - 1, seed >> 32) {
                    _advance(1, 1);
                    try this.revealChallenge(_pending.length - 1) {} catch {}
                } catch {}
            } else if (choice == 1) {
                for (uint256 a; a < 3; ++a) {
                    try this.commitAttestation(j - 1, a, seed >> (16 + a)) {} catch {}
                }
                if (now_ <= job.deadline && job.openDisputes == 0) _advance(job.deadline + 1 - now_, 1);
                for (uint256 a; a < 3; ++a) {
                    try this.revealAttestation(j - 1, a) {} catch {}
                }
            } else if (choice == 2) {
                try this.openAvailabilityClaim(seed >> 16, j - 1, seed >> 24, seed >> 32) {} catch {}
            } else {
                uint256 end = uint256(job.deadline) + market.revealPhase();
                if (job.openDisputes == 0 && now_ <= end) _advance(end + 1 - now_, 1);
                try this.finalizeJob(j - 1) {} catch {}
            }
        }
    }

    /// @notice The negative controls' broken action; a no-op (never targeted) in the real suite.
    function sabotageStep(uint256 seed) external action {
        address victim = _actor(seed);
        if (sabotage == Sabotage.LeakSlash) {
            uint256 free = registry.freeStakeOf(victim);
            require(free != 0, "nothing to take");
            VM.prank(address(market));
            registry.lock(victim, free);
            VM.prank(address(market));
            registry.slash(victim, free); // the tokens reach the market, which books no credit for them
        } else if (sabotage == Sabotage.CorruptLock) {
            VM.record();
            IStakeRegistry.StakeInfo memory info = registry.stakeOf(victim);
            (bytes32[] memory reads,) = VM.accesses(address(registry));
            uint256 word = uint256(info.staked) | (uint256(info.staked) + 1) << 128;
            VM.store(address(registry), reads[0], bytes32(word));
        } else if (sabotage == Sabotage.LeakFreeze) {
            uint256 jobId;
            try this.findJob(seed, IJobMarket.JobStatus.Committed) returns (uint256 found) {
                jobId = found;
            } catch {
                (jobId,) = _jobIn(seed, IJobMarket.JobStatus.Claimed);
            }
            VM.prank(address(game));
            market.freezeJob(jobId); // a dispute that never unfreezes its job
        } else if (sabotage == Sabotage.CreditTwice) {
            (uint256 jobId, IJobMarket.Job memory job) = _jobIn(seed, IJobMarket.JobStatus.Finalized);
            require(jobId != 0);
            VM.record();
            market.creditOf(job.solver);
            (bytes32[] memory reads,) = VM.accesses(address(market));
            uint256 stored = uint256(VM.load(address(market), reads[0]));
            VM.store(address(market), reads[0], bytes32(stored + job.reward));
        } else if (sabotage == Sabotage.ReviveJob) {
            uint256 count = market.jobCount();
            require(count != 0, "no jobs");
            uint256 jobId = 1 + seed % count;
            IJobMarket.Job memory job = market.getJob(jobId);
            require(sys.isTerminal(job.status), "live");
            VM.record();
            market.getJob(jobId);
            (bytes32[] memory reads,) = VM.accesses(address(market));
            // the 4th slot: numSegments, checkpointEvery, attempt, solveTimeout (4 x 32 bits), sampleRateBps
            // (16), openDisputes (24), then status at bit 168, deadline, commitBlock
            uint256 word = uint256(VM.load(address(market), reads[3]));
            word = (word & ~(uint256(0xff) << 168)) | (uint256(uint8(IJobMarket.JobStatus.Open)) << 168);
            VM.store(address(market), reads[3], bytes32(word));
        } else {
            revert("no sabotage");
        }
    }

    // ====================================================================================
    // Protocol calls whose signatures other branches change (adapt here after a merge)
    // ====================================================================================

    function _mint(address to, uint256 amount) internal {
        sys.mint(to, amount);
        ghostMinted += amount;
    }

    function _postJob(
        address submitter,
        bytes32 specHash,
        uint32 steps,
        uint32 k,
        uint96 reward,
        uint96 fee,
        uint32 timeout,
        uint16 rate,
        IJobMarket.PriceTerms memory terms
    ) internal {
        VM.prank(submitter);
        token.approve(address(market), uint256(reward) + fee);
        VM.prank(submitter);
        if (terms.floor == reward && terms.minFinalized == 0) {
            market.postJob(specHash, steps, k, reward, fee, timeout, rate);
        } else {
            market.postJobWithTerms(specHash, steps, k, reward, fee, timeout, rate, terms);
        }
    }

    /// @dev `postRoundsJob`'s arguments in one memory struct: twelve arguments and the handler's
    /// locals overflow the legacy pipeline's stack (the fuzz suite compiles without IR).
    struct RoundsArgs {
        bytes32 specHash;
        uint32 workers;
        uint32 rounds;
        uint32 quorum;
        uint32 steps;
        uint32 k;
        uint96 reward;
        uint96 fee;
        uint32 timeout;
        uint32 roundTimeout;
        IJobMarket.PriceTerms terms;
    }

    function _postRounds(RoundsArgs memory a) internal {
        rounds.postRoundsJob(
            a.specHash, a.workers, a.rounds, a.quorum, a.steps, a.k, a.reward, a.fee, a.timeout, a.roundTimeout, 1_000, a.terms
        );
    }

    /// @dev A third fixed prices; the rest ascending-price auctions (docs/MARKET.md) from a random
    /// floor over up to 20 minutes, half of them also asking for one finalized job of the claimer.
    function _priceTerms(uint96 cap, uint256 seed) internal pure returns (IJobMarket.PriceTerms memory) {
        uint256 mode = (seed >> 8) % 3; // small seeds (the scripted paths') are fixed prices
        if (mode == 0) return IJobMarket.PriceTerms({floor: cap, ramp: 0, minFinalized: 0});
        return IJobMarket.PriceTerms({
            floor: uint96(1 + uint96(seed >> 10) % cap),
            ramp: uint32(1 + (seed >> 120) % 1_200),
            minFinalized: mode == 2 ? uint64((seed >> 200) % 2) : 0
        });
    }

    /// @dev Keyed by (sender, hash): only the committer can reveal it (the preimage names it too).
    function _commitChallenge(address challenger, bytes32 hash) internal {
        VM.prank(challenger);
        game.commitChallenge(hash);
    }

    struct Opening {
        bytes32 hashStart;
        bytes32[] startProof;
        bytes32 hashEnd;
        bytes32[] endProof;
        bytes32 segRoot;
        bytes32[] segProof;
        bytes32[] step0Proof;
        bytes32[] stepKProof;
    }

    function _openSegment(uint256 id, address solver, uint256 jobId, IJobMarket.Job memory job, uint256 i) internal {
        Opening memory o;
        {
            bytes32[] memory checkpoints = _checkpointLeaves(jobId, job);
            bytes32[] memory steps = _stepLeaves(jobId, job, i);
            uint256 k = job.checkpointEvery;
            o.hashStart = _hash(jobId, job.attempt, (i - 1) * k);
            o.startProof = TraceTree.proof(checkpoints, i - 1);
            o.hashEnd = _hash(jobId, job.attempt, i * k);
            o.endProof = TraceTree.proof(checkpoints, i);
            o.segRoot = TraceTree.root(steps);
            o.segProof = TraceTree.proof(_segmentLeaves(jobId, job), i - 1);
            o.step0Proof = TraceTree.proof(steps, 0);
            o.stepKProof = TraceTree.proof(steps, k);
        }
        bytes32[4] memory c = _commitment(jobId, job);
        VM.prank(solver);
        game.openSegment(
            id, c, o.hashStart, o.startProof, o.hashEnd, o.endProof, o.segRoot, o.segProof, o.step0Proof, o.stepKProof
        );
    }

    // ====================================================================================
    // The drain: from the current state, timeouts alone end every job and free every token
    // ====================================================================================

    /// @notice Warp far ahead and take every timeout path (move clocks, empty jury rounds, solve
    /// timeouts, finalizations; open jobs and running rounds jobs are cancelled by their submitters),
    /// then have everyone withdraw everything. Returns "" when every job ended and both escrow contracts are empty,
    /// else what was stuck. Callers wrap it in a state snapshot.
    function drainAll() external returns (string memory stuck) {
        VM.warp(now_);
        VM.roll(blockNo);
        _drainRounds();
        for (uint256 pass; pass < 24; ++pass) {
            bool busy = _drainDisputes();
            busy = _drainJobs() || busy;
            if (!busy) break;
        }
        uint256 jobs = market.jobCount();
        for (uint256 j = 1; j <= jobs; ++j) {
            IJobMarket.Job memory job = market.getJob(j);
            if (!sys.isTerminal(job.status)) return string.concat("job ", _str(j), " not terminal: ", _str(uint8(job.status)));
        }
        uint256 disputes = game.disputeCount();
        for (uint256 id = 1; id <= disputes; ++id) {
            if (game.getDispute(id).phase != IDisputeGame.Phase.Resolved) return string.concat("dispute ", _str(id), " open");
        }
        for (uint256 id = 1; id <= rounds.roundsJobCount(); ++id) {
            if (rounds.getRoundsJob(id).status == IRoundsMarket.RoundsStatus.Running) {
                return string.concat("rounds job ", _str(id), " still running");
            }
        }
        if (market.roundsReserve() != 0) return "the rounds reserve is not empty";
        for (uint256 k; k < actors.length; ++k) {
            address actor = actors[k];
            if (market.creditOf(actor) != 0) {
                VM.prank(actor);
                try market.withdraw() {}
                catch {
                    return string.concat("credit withdraw reverts for actor ", _str(k));
                }
            }
            IStakeRegistry.StakeInfo memory info = registry.stakeOf(actor);
            if (info.locked != 0) return string.concat("stake still locked for actor ", _str(k));
            if (info.staked != 0) {
                VM.prank(actor);
                registry.requestUnstake(info.staked);
            }
        }
        _advance(3_601, 1);
        for (uint256 k; k < actors.length; ++k) {
            if (registry.stakeOf(actors[k]).unbonding == 0) continue;
            VM.prank(actors[k]);
            try registry.withdraw() {}
            catch {
                return string.concat("stake withdraw reverts for actor ", _str(k));
            }
        }
        if (token.balanceOf(address(market)) != 0 || market.totalLiabilities() != 0) {
            return "JobMarket still holds tokens";
        }
        if (token.balanceOf(address(registry)) != 0 || registry.totalStaked() != 0) {
            return "StakeRegistry still holds tokens";
        }
        return "";
    }

    /// @dev Every running rounds job is cancelled by its submitter: its open units are cancelled and the
    /// rounds never opened refunded; its claimed and committed units then drain like any job.
    function _drainRounds() internal {
        for (uint256 id = 1; id <= rounds.roundsJobCount(); ++id) {
            IRoundsMarket.RoundsJob memory job = rounds.getRoundsJob(id);
            if (job.status != IRoundsMarket.RoundsStatus.Running) continue;
            VM.prank(job.submitter);
            try rounds.cancelRoundsJob(id) {} catch {}
        }
    }

    function _drainDisputes() internal returns (bool busy) {
        uint256 disputes = game.disputeCount();
        for (uint256 id = 1; id <= disputes; ++id) {
            IDisputeGame.Dispute memory d = game.getDispute(id);
            if (d.phase == IDisputeGame.Phase.Resolved) continue;
            busy = true;
            if (d.phase != IDisputeGame.Phase.Jury) {
                _advance(uint256(d.solverClock) + d.challengerClock + 1, 1);
                try game.timeout(id) {} catch {}
                continue;
            }
            IJury.Panel memory p = jury.panelOf(id);
            if (p.phase == IJury.Phase.Seed || p.phase == IJury.Phase.Salt) {
                _advance(1, 3);
                try jury.recordSeed(id) {} catch {}
                // too few seatable jurors: the panel waits; past its draw deadline the dispute is void
                p = jury.panelOf(id);
                if (p.phase == IJury.Phase.Seed && now_ <= p.drawDeadline) _advance(p.drawDeadline + 1 - now_, 0);
            } else if (p.phase == IJury.Phase.Voting) {
                if (now_ <= p.revealDeadline) _advance(p.revealDeadline + 1 - now_, 1);
                try jury.resolve(id) {} catch {}
            } else {
                try game.voidStale(id) {} catch {}
            }
        }
    }

    function _drainJobs() internal returns (bool busy) {
        uint256 jobs = market.jobCount();
        for (uint256 j = 1; j <= jobs; ++j) {
            IJobMarket.Job memory job = market.getJob(j);
            if (sys.isTerminal(job.status) || job.openDisputes != 0) continue;
            busy = true;
            if (job.status == IJobMarket.JobStatus.Open && market.isUnit(j)) {
                (uint256 roundsId, uint32 round,) = rounds.unitOf(j); // its rounds job was cancelled
                try rounds.cancelStaleUnits(roundsId, round) {} catch {}
            } else if (job.status == IJobMarket.JobStatus.Open) {
                VM.prank(job.submitter);
                try market.cancelJob(j) {} catch {}
            } else if (job.status == IJobMarket.JobStatus.Claimed) {
                if (now_ <= job.deadline) _advance(job.deadline + 1 - now_, 1);
                try market.reclaimTimedOut(j) {} catch {}
            } else {
                uint256 end = uint256(job.deadline) + market.revealPhase();
                if (now_ <= end) _advance(end + 1 - now_, 1);
                try market.finalizeJob(j) {} catch {}
            }
        }
    }

    // ====================================================================================
    // Views for the invariants
    // ====================================================================================

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @notice Escrow of the jobs still live (Open, Claimed, Committed): reward + fee still held, plus
    /// the rounds reserve (escrow of rounds not yet opened), which nobody has been credited either.
    function liveEscrow() external view returns (uint256 sum) {
        sum = market.roundsReserve();
        uint256 jobs = market.jobCount();
        for (uint256 j = 1; j <= jobs; ++j) {
            IJobMarket.Job memory job = market.getJob(j);
            if (!sys.isTerminal(job.status)) sum += uint256(job.reward) + job.verifierFee;
        }
    }

    // ====================================================================================
    // Internals
    // ====================================================================================

    function _afterAction() internal {
        Vm.Log[] memory logs = VM.getRecordedLogs();
        address marketAddress = address(market);
        for (uint256 k; k < logs.length; ++k) {
            Vm.Log memory log = logs[k];
            if (log.emitter == marketAddress && log.topics[0] == IJobMarket.Credited.selector) {
                address account = address(uint160(uint256(log.topics[1])));
                uint256 amount = abi.decode(log.data, (uint256));
                ghostCredited += amount;
                ghostCreditedTo[account] += amount;
            } else if (log.emitter == marketAddress && log.topics[0] == IJobMarket.CreditWithdrawn.selector) {
                ghostWithdrawnBy[address(uint160(uint256(log.topics[1])))] += abi.decode(log.data, (uint256));
            } else if (
                log.emitter == address(registry) && log.topics[0] == IStakeRegistry.StakeSlashed.selector
                    && address(uint160(uint256(log.topics[2]))) == marketAddress
            ) {
                ghostSlashedToMarket += abi.decode(log.data, (uint256));
            } else if (log.emitter == address(registry) && log.topics[0] == IStakeRegistry.StakeBurned.selector) {
                ghostBurned += abi.decode(log.data, (uint256));
            }
        }
        _checkJackpotSplit(logs);
        uint256 jobs = market.jobCount();
        for (uint256 j = 1; j <= jobs; ++j) {
            IJobMarket.Job memory job = market.getJob(j);
            IJobMarket.JobStatus before = _lastStatus[j];
            if (!_allowed(before, job.status, _lastAttempt[j], job.attempt)) {
                if (ghostBadTransitions == 0) {
                    ghostFirstBadTransition = string.concat(
                        "job ",
                        _str(j),
                        ": status ",
                        _str(uint8(before)),
                        " -> ",
                        _str(uint8(job.status)),
                        ", attempt ",
                        _str(_lastAttempt[j]),
                        " -> ",
                        _str(job.attempt)
                    );
                }
                ++ghostBadTransitions;
            }
            (_lastStatus[j], _lastAttempt[j]) = (job.status, job.attempt);
        }
    }

    /// @dev A conviction splits its jackpot equally among every open challenge of the segment: each
    /// co-challenger's `JackpotShared` precedes the convicting `DisputeResolved`, which pays the
    /// convicting challenger one share plus the dust (< one share per payee). Every dispute is
    /// settled by exactly one `DisputeResolved`.
    function _checkJackpotSplit(Vm.Log[] memory logs) internal {
        uint256 sharers;
        uint256 share;
        uint256 convictedBy;
        for (uint256 k; k < logs.length; ++k) {
            Vm.Log memory log = logs[k];
            if (log.emitter != address(game)) continue;
            if (log.topics[0] == IDisputeGame.JackpotShared.selector) {
                uint256 by = uint256(log.topics[2]);
                (, uint256 amount) = abi.decode(log.data, (address, uint256));
                if (sharers != 0 && (by != convictedBy || amount != share)) _badPayout("unequal jackpot shares", by);
                (sharers, share, convictedBy) = (sharers + 1, amount, by);
                ++ghostJackpotShares;
            } else if (log.topics[0] == IDisputeGame.DisputeResolved.selector) {
                uint256 id = uint256(log.topics[1]);
                if (++ghostResolutions[id] > 1) _badPayout("a dispute settled twice", id);
                (IDisputeGame.Outcome outcome,, uint256 winnerPaid,,) =
                    abi.decode(log.data, (IDisputeGame.Outcome, address, uint256, uint256, uint256));
                if (sharers == 0 || id != convictedBy) continue;
                if (outcome != IDisputeGame.Outcome.SolverWrong) _badPayout("jackpot shared without a conviction", id);
                if (winnerPaid < share || winnerPaid - share > sharers) _badPayout("the convicting share is off", id);
                sharers = 0;
            }
        }
        if (sharers != 0) _badPayout("jackpot shared by no conviction", convictedBy);
    }

    function _badPayout(string memory what, uint256 disputeId) internal {
        if (ghostBadPayouts == 0) ghostFirstBadPayout = string.concat(what, ": dispute ", _str(disputeId));
        ++ghostBadPayouts;
    }

    /// @dev The job state machine (docs/PROTOCOL.md §2): one transaction moves a job at most one edge.
    function _allowed(IJobMarket.JobStatus from, IJobMarket.JobStatus to, uint256 attemptFrom, uint256 attemptTo)
        internal
        pure
        returns (bool)
    {
        if (from == to) return attemptFrom == attemptTo;
        if (to == IJobMarket.JobStatus.Open && (from == IJobMarket.JobStatus.Claimed || from == IJobMarket.JobStatus.Committed)) {
            return attemptTo == attemptFrom + 1; // solve timeout, abort, or fraud proven
        }
        if (attemptFrom != attemptTo) return false;
        return (from == IJobMarket.JobStatus.None && to == IJobMarket.JobStatus.Open)
            || (from == IJobMarket.JobStatus.Open && (to == IJobMarket.JobStatus.Claimed || to == IJobMarket.JobStatus.Cancelled))
            || (from == IJobMarket.JobStatus.Claimed && to == IJobMarket.JobStatus.Committed)
            || (from == IJobMarket.JobStatus.Committed && to == IJobMarket.JobStatus.Finalized);
    }

    function _advance(uint256 dt, uint256 blocks) internal {
        for (uint256 b; b < blocks; ++b) {
            VM.setBlockhash(blockNo, keccak256(abi.encode("block", blockNo)));
            ++blockNo;
            VM.roll(blockNo);
        }
        now_ += dt;
        VM.warp(now_);
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _topUp(address account, uint256 amount) internal {
        uint256 balance = token.balanceOf(account);
        if (balance < amount) _mint(account, amount - balance);
    }

    function _stake(address account, uint256 amount) internal {
        _topUp(account, amount);
        VM.prank(account);
        token.approve(address(registry), amount);
        VM.prank(account);
        registry.stake(amount);
    }

    function _ensureFree(address account, uint256 amount) internal {
        uint256 free = registry.freeStakeOf(account);
        if (free < amount) _stake(account, amount - free);
    }

    function findJob(uint256 seed, IJobMarket.JobStatus status) external view returns (uint256 jobId) {
        (jobId,) = _jobIn(seed, status);
    }

    /// @dev The first job at or after `seed` (cyclically) in `status`; reverts when there is none.
    function _jobIn(uint256 seed, IJobMarket.JobStatus status)
        internal
        view
        returns (uint256 jobId, IJobMarket.Job memory job)
    {
        uint256 count = market.jobCount();
        for (uint256 t; t < count; ++t) {
            jobId = 1 + (seed + t) % count;
            job = market.getJob(jobId);
            if (job.status == status) return (jobId, job);
        }
        revert("no job in that status");
    }

    /// @notice Σ over running rounds jobs of the escrow of rounds not yet opened: what the rounds
    /// reserve must hold, recounted from RoundsMarket's own records.
    function unopenedRoundsEscrow() external view returns (uint256 sum) {
        for (uint256 id = 1; id <= rounds.roundsJobCount(); ++id) {
            IRoundsMarket.RoundsJob memory job = rounds.getRoundsJob(id);
            if (job.status != IRoundsMarket.RoundsStatus.Running) continue;
            sum += (uint256(job.unitReward) + job.unitVerifierFee) * job.workers * (job.rounds - job.round - 1);
        }
    }

    function _roundsId(uint256 seed) internal view returns (uint256) {
        uint256 count = rounds.roundsJobCount();
        require(count != 0, "no rounds jobs");
        return 1 + seed % count;
    }

    function _disputeId(uint256 seed) internal view returns (uint256) {
        uint256 count = game.disputeCount();
        require(count != 0, "no disputes");
        for (uint256 t; t < count; ++t) {
            uint256 id = 1 + (seed + t) % count;
            if (game.getDispute(id).phase != IDisputeGame.Phase.Resolved) return id;
        }
        return 1 + seed % count;
    }

    function _disputeIn(uint256 seed, IDisputeGame.Phase phase)
        internal
        view
        returns (uint256 id, IDisputeGame.Dispute memory d)
    {
        uint256 count = game.disputeCount();
        for (uint256 t; t < count; ++t) {
            id = 1 + (seed + t) % count;
            d = game.getDispute(id);
            if (d.phase == phase) return (id, d);
        }
        revert("no dispute in that phase");
    }

    function _jobIdOf(uint256 disputeId) internal view returns (uint256) {
        return game.getDispute(disputeId).jobId;
    }

    /// @dev The job's shape with the dispute's attempt (the trace committed then).
    function _jobAt(uint256 jobId, uint256 attempt) internal view returns (IJobMarket.Job memory job) {
        job = market.getJob(jobId);
        job.attempt = uint32(attempt);
        require(_traces[jobId][attempt] != 0, "no trace");
    }

    function _voter(uint256 id, IJury.Panel memory p, uint256 seed) internal view returns (address) {
        address[] memory jurors = jury.jurorsOf(id, p.round);
        uint256 pick = seed % (jurors.length + 2);
        if (pick == jurors.length) return p.solver;
        if (pick == jurors.length + 1) return p.challenger;
        return jurors[pick];
    }

    /// @dev Whether the respondent's claim in dispute `id` is true: its trace is honest where disputed.
    function _solverRight(uint256 id) internal view returns (bool) {
        IDisputeGame.Dispute memory d = game.getDispute(id);
        uint256 cheat = _traces[d.jobId][d.attempt];
        if (d.target == IDisputeGame.Target.Dataset) return true; // the submitter serves its data
        if (cheat == 0) return true;
        if (cheat == HONEST) return true;
        uint256 cheatFrom = cheat - 1;
        if (d.kind == IDisputeGame.Kind.Segment && d.phase == IDisputeGame.Phase.Jury) {
            return (uint256(d.segment) - 1) * d.checkpointEvery + d.hi < cheatFrom;
        }
        if (d.kind == IDisputeGame.Kind.InitialState) return cheatFrom != 0;
        return false; // a lying solver cannot serve the true data
    }

    // --- traces ---

    function _trueHash(uint256 jobId, uint256 step) internal pure returns (bytes32) {
        return keccak256(abi.encode("state", jobId, step));
    }

    /// @dev The state hash the solver of (job, attempt) committed at `step`.
    function _hash(uint256 jobId, uint256 attempt, uint256 step) internal view returns (bytes32) {
        uint256 cheat = _traces[jobId][attempt];
        if (cheat != HONEST && cheat != 0 && step >= cheat - 1) return keccak256(abi.encode("lie", jobId, attempt, step));
        return _trueHash(jobId, step);
    }

    function _checkpointLeaves(uint256 jobId, IJobMarket.Job memory job) internal view returns (bytes32[] memory leaves) {
        uint256 n = job.numSegments;
        leaves = new bytes32[](n + 1);
        for (uint256 i; i <= n; ++i) {
            leaves[i] = TraceMerkle.checkpointLeaf(jobId, job.attempt, i, _hash(jobId, job.attempt, i * job.checkpointEvery));
        }
    }

    function _stepLeaves(uint256 jobId, IJobMarket.Job memory job, uint256 segment)
        internal
        view
        returns (bytes32[] memory leaves)
    {
        uint256 k = job.checkpointEvery;
        leaves = new bytes32[](k + 1);
        for (uint256 j; j <= k; ++j) {
            leaves[j] = TraceMerkle.stepLeaf(jobId, job.attempt, segment, j, _hash(jobId, job.attempt, (segment - 1) * k + j));
        }
    }

    function _segRoot(uint256 jobId, IJobMarket.Job memory job, uint256 segment) internal view returns (bytes32) {
        return TraceTree.root(_stepLeaves(jobId, job, segment));
    }

    function _segmentLeaves(uint256 jobId, IJobMarket.Job memory job) internal view returns (bytes32[] memory leaves) {
        uint256 n = job.numSegments;
        leaves = new bytes32[](n);
        for (uint256 i = 1; i <= n; ++i) {
            leaves[i - 1] = TraceMerkle.segmentLeaf(jobId, job.attempt, i, _segRoot(jobId, job, i));
        }
    }

    function _commitment(uint256 jobId, IJobMarket.Job memory job) internal view returns (bytes32[4] memory c) {
        c[0] = TraceTree.root(_checkpointLeaves(jobId, job));
        c[1] = TraceTree.root(_segmentLeaves(jobId, job));
        c[2] = _hash(jobId, job.attempt, uint256(job.numSegments) * job.checkpointEvery);
        c[3] = keccak256(abi.encode("manifest", jobId, job.attempt));
    }

    /// @dev The split the respondent proposes: its own state hashes at the split points.
    function _proposal(uint256 id, IDisputeGame.Dispute memory d) internal view returns (bytes32[] memory hashes) {
        uint256[] memory points = game.splitPoints(id);
        hashes = new bytes32[](points.length);
        uint256 base = (uint256(d.segment) - 1) * d.checkpointEvery;
        for (uint256 k; k < points.length; ++k) {
            hashes[k] = _hash(d.jobId, d.attempt, base + points[k]);
        }
    }

    /// @dev Segment roots an attester reveals (mode 1: the solver's, 2: the true ones) and their proofs
    /// against the solver's segment tree.
    function _attestation(uint256 jobId, IJobMarket.Job memory job, address attester, uint256 mode)
        internal
        view
        returns (bytes32[] memory roots, bytes32[][] memory proofs)
    {
        uint256[] memory segments = attestations.assignedSegments(jobId, attester);
        bytes32[] memory segLeaves = _segmentLeaves(jobId, job);
        roots = new bytes32[](segments.length);
        proofs = new bytes32[][](segments.length);
        for (uint256 t; t < segments.length; ++t) {
            uint256 i = segments[t];
            roots[t] = mode == 1 ? _segRoot(jobId, job, i) : _trueSegRoot(jobId, job, i);
            proofs[t] = TraceTree.proof(segLeaves, i - 1);
        }
    }

    function _trueSegRoot(uint256 jobId, IJobMarket.Job memory job, uint256 segment) internal pure returns (bytes32) {
        uint256 k = job.checkpointEvery;
        bytes32[] memory leaves = new bytes32[](k + 1);
        for (uint256 j; j <= k; ++j) {
            leaves[j] = TraceMerkle.stepLeaf(jobId, job.attempt, segment, j, _trueHash(jobId, (segment - 1) * k + j));
        }
        return TraceTree.root(leaves);
    }

    function _salt(address account) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", account));
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b;
        while (v != 0) {
            b = bytes.concat(bytes1(uint8(48 + v % 10)), b);
            v /= 10;
        }
        return string(b);
    }
}
