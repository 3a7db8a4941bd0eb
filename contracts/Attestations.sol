// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAttestations} from "./interfaces/IAttestations.sol";
import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IVerifierDraws} from "./interfaces/IVerifierDraws.sol";
import {Seeds} from "./libraries/Seeds.sol";
import {TraceMerkle} from "./libraries/TraceMerkle.sol";

/// @title Attestations
/// @notice Attester draw, segment assignment and attestation commit/reveal (docs/PROTOCOL.md §5, DISPUTES.md).
/// @dev Holds no tokens: `JobMarket.finalizeJob` pays the fees it reads from `payoutsOf`.
contract Attestations is IAttestations {
    struct Round {
        uint64 target; // moved seed target (0: commitBlock + seedDelay)
        uint32 sampled; // S: segments assigned over all attesters of this attempt
        bool revealStarted;
        bytes32 seed;
        Attester[] attesters;
    }

    uint256 private constant _BPS = 10_000;

    address private immutable _deployer;
    IVerifierDraws private immutable _registry;
    uint256 private immutable _attestersPerJob;
    uint256 private immutable _seedDelay;
    uint256 private immutable _attesterSlash;
    IJobMarket private _market;

    mapping(uint256 jobId => mapping(uint256 attempt => Round)) private _rounds;
    mapping(uint256 jobId => mapping(uint256 attempt => mapping(address account => uint256 indexPlusOne))) private
        _index;
    /// @dev Validity bits of assigned positions 256.. (word w >= 1 holds positions 256·w ..); positions
    /// 0..255 live in `Attester.validMask`, so the usual share (< 256 segments) costs no extra slot.
    mapping(uint256 jobId => mapping(uint256 attempt => mapping(address account => mapping(uint256 word => uint256))))
        private _validWords;

    /// @param registry_ the StakeRegistry (verifier draws).
    /// @param attestersPerJob_ V.
    /// @param seedDelay_ blocks between the commit and the seed's target block (>= 1).
    /// @param attesterSlash_ slashed from an attester that revealed a segment later proven fraudulent.
    constructor(address registry_, uint256 attestersPerJob_, uint256 seedDelay_, uint256 attesterSlash_) {
        if (registry_ == address(0) || attestersPerJob_ == 0 || seedDelay_ == 0) {
            revert AttestationsInvalidConfiguration();
        }
        _deployer = msg.sender;
        _registry = IVerifierDraws(registry_);
        _attestersPerJob = attestersPerJob_;
        _seedDelay = seedDelay_;
        _attesterSlash = attesterSlash_;
    }

    /// @inheritdoc IAttestations
    function initialize(address market) external {
        if (msg.sender != _deployer || address(_market) != address(0)) revert AttestationsUnauthorized(msg.sender);
        if (market == address(0)) revert AttestationsInvalidConfiguration();
        _market = IJobMarket(market);
    }

    /// @inheritdoc IAttestations
    function recordSeed(uint256 jobId) external {
        IJobMarket.Job memory job = _committedJob(jobId);
        Round storage round = _rounds[jobId][job.attempt];
        if (round.seed != 0) revert AttestationsSeedRecorded(jobId, job.attempt);
        uint256 target = round.target != 0 ? round.target : uint256(job.commitBlock) + _seedDelay;
        (bool ready, bytes32 seed, uint256 newTarget) = Seeds.tryRecord(target, _seedDelay);
        if (!ready) revert AttestationsSeedNotReady(jobId, target);
        if (seed == 0) {
            round.target = uint64(newTarget);
            emit AttesterSeedMoved(jobId, job.attempt, newTarget);
            return;
        }
        round.seed = seed;
        address[] memory exclude = new address[](1);
        exclude[0] = job.solver;
        (address[] memory drawn,) =
            _registry.drawVerifiers(Seeds.derive(seed, "attesters"), _attestersPerJob, exclude, job.commitBlock);
        uint256 sampled;
        if (drawn.length != 0) {
            uint256 n = job.numSegments;
            sampled = (uint256(job.sampleRateBps) * n + _BPS - 1) / _BPS;
            if (sampled > n) sampled = n;
            if (sampled < drawn.length) sampled = drawn.length;
        }
        round.sampled = uint32(sampled);
        mapping(address => uint256) storage index = _index[jobId][job.attempt];
        for (uint256 k; k < drawn.length; ++k) {
            round.attesters.push(Attester({account: drawn[k], commitBlock: 0, digest: 0, validSegments: 0, revealed: false, validMask: 0}));
            index[drawn[k]] = k + 1;
        }
        emit AttestersDrawn(jobId, job.attempt, seed, drawn, sampled);
    }

    /// @inheritdoc IAttestations
    function commitAttestation(uint256 jobId, bytes32 digest) external {
        IJobMarket.Job memory job = _committedJob(jobId);
        Round storage round = _rounds[jobId][job.attempt];
        if (block.timestamp > job.deadline || round.revealStarted) revert AttestationsCommitClosed(jobId);
        Attester storage attester = _attesterOf(round, jobId, job.attempt, msg.sender);
        if (attester.digest != 0 || digest == 0) revert AttestationsAlreadyCommitted(jobId, msg.sender);
        attester.digest = digest;
        attester.commitBlock = uint48(block.number);
        emit AttestationCommitted(jobId, job.attempt, msg.sender, digest);
    }

    /// @inheritdoc IAttestations
    function revealAttestation(
        uint256 jobId,
        bytes32[4] calldata commitment,
        bytes32[] calldata segRoots,
        bytes32 salt,
        bytes32[][] calldata proofs
    ) external {
        IJobMarket.Job memory job = _committedJob(jobId);
        uint256 end = uint256(job.deadline) + _market.revealPhase();
        if (block.timestamp <= job.deadline || block.timestamp > end || job.openDisputes != 0) {
            revert AttestationsNotRevealPhase(jobId, block.timestamp <= job.deadline ? job.deadline : end);
        }
        if (keccak256(abi.encode(commitment)) != job.commitment) revert AttestationsCommitmentMismatch(jobId);
        Round storage round = _rounds[jobId][job.attempt];
        Attester storage attester = _attesterOf(round, jobId, job.attempt, msg.sender);
        if (attester.digest == 0 || attester.revealed) revert AttestationsDigestMismatch(jobId, msg.sender);
        (uint256 first, uint256 c) =
            _share(round.sampled, round.attesters.length, _index[jobId][job.attempt][msg.sender] - 1);
        if (segRoots.length != c) revert AttestationsWrongLength(c, segRoots.length);
        if (proofs.length != c) revert AttestationsWrongLength(c, proofs.length);
        uint256[] memory segments = _segments(round.seed, job.numSegments, first, c);
        bytes32[] memory hashes = new bytes32[](c);
        uint256 valid;
        uint256[] memory words = new uint256[]((c + 255) >> 8);
        uint256 depth = TraceMerkle.depth(job.numSegments);
        IDisputeGame game = _gameOf();
        for (uint256 t; t < c; ++t) {
            uint256 i = segments[t];
            hashes[t] = keccak256(abi.encode(jobId, job.attempt, i, segRoots[t], msg.sender, salt));
            if (
                !_late(game, jobId, job.attempt, i, attester.commitBlock) && proofs[t].length == depth
                    && TraceMerkle.verify(
                        commitment[1],
                        TraceMerkle.segmentLeaf(jobId, job.attempt, i, segRoots[t]),
                        i - 1,
                        job.numSegments,
                        proofs[t]
                    )
            ) {
                ++valid;
                words[t >> 8] |= 1 << (t & 255);
            }
        }
        if (keccak256(abi.encode(hashes)) != attester.digest) revert AttestationsDigestMismatch(jobId, msg.sender);
        attester.revealed = true;
        attester.validSegments = uint32(valid);
        if (c != 0) attester.validMask = words[0];
        for (uint256 w = 1; w < words.length; ++w) {
            if (words[w] != 0) _validWords[jobId][job.attempt][msg.sender][w] = words[w];
        }
        round.revealStarted = true;
        emit AttestationRevealed(jobId, job.attempt, msg.sender, segRoots, valid);
    }

    // --- views ---

    /// @inheritdoc IAttestations
    function assignedSegments(uint256 jobId, address account) external view returns (uint256[] memory) {
        IJobMarket.Job memory job = _market.getJob(jobId);
        Round storage round = _rounds[jobId][job.attempt];
        uint256 indexPlusOne = _index[jobId][job.attempt][account];
        if (indexPlusOne == 0) return new uint256[](0);
        (uint256 first, uint256 c) = _share(round.sampled, round.attesters.length, indexPlusOne - 1);
        return _segments(round.seed, job.numSegments, first, c);
    }

    /// @inheritdoc IAttestations
    function attestersOf(uint256 jobId, uint256 attempt) external view returns (Attester[] memory) {
        return _rounds[jobId][attempt].attesters;
    }

    /// @inheritdoc IAttestations
    function seedOf(uint256 jobId, uint256 attempt) external view returns (uint256 targetBlock, bytes32 seed) {
        Round storage round = _rounds[jobId][attempt];
        targetBlock = round.target;
        if (targetBlock == 0) {
            IJobMarket.Job memory job = _market.getJob(jobId);
            if (job.attempt == attempt && job.commitBlock != 0) targetBlock = uint256(job.commitBlock) + _seedDelay;
        }
        seed = round.seed;
    }

    /// @inheritdoc IAttestations
    function payoutsOf(uint256 jobId, uint256 attempt)
        external
        view
        returns (address[] memory attesters, uint256[] memory validSegments, uint256 assignedSegments_)
    {
        Round storage round = _rounds[jobId][attempt];
        uint256 n = round.attesters.length;
        attesters = new address[](n);
        validSegments = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            Attester storage attester = round.attesters[k];
            attesters[k] = attester.account;
            validSegments[k] = attester.validSegments;
        }
        assignedSegments_ = round.sampled;
    }

    /// @inheritdoc IAttestations
    function revealersOf(uint256 jobId, uint256 attempt, uint256 segment) external view returns (address[] memory) {
        Round storage round = _rounds[jobId][attempt];
        uint256 n = round.attesters.length;
        address[] memory found = new address[](n);
        uint256 count;
        if (n != 0) {
            uint256 numSegments = _market.getJob(jobId).numSegments;
            for (uint256 k; k < n; ++k) {
                Attester storage attester = round.attesters[k];
                if (!attester.revealed) continue;
                (uint256 first, uint256 c) = _share(round.sampled, n, k);
                uint256[] memory segments = _segments(round.seed, numSegments, first, c);
                for (uint256 t; t < c; ++t) {
                    if (segments[t] != segment) continue;
                    uint256 word = t < 256 ? attester.validMask : _validWords[jobId][attempt][attester.account][t >> 8];
                    if (word & (1 << (t & 255)) != 0) found[count++] = attester.account;
                    break; // a segment appears once in an attester's list
                }
            }
        }
        assembly ("memory-safe") {
            mstore(found, count)
        }
        return found;
    }

    /// @inheritdoc IAttestations
    function segmentsAt(bytes32 seed, uint256 numSegments, uint256 first, uint256 count)
        external
        pure
        returns (uint256[] memory)
    {
        return _segments(seed, numSegments, first, count);
    }

    /// @inheritdoc IAttestations
    function attestersPerJob() external view returns (uint256) {
        return _attestersPerJob;
    }

    /// @inheritdoc IAttestations
    function seedDelay() external view returns (uint256) {
        return _seedDelay;
    }

    /// @inheritdoc IAttestations
    function attesterSlash() external view returns (uint256) {
        return _attesterSlash;
    }

    // --- internals ---

    /// @dev The dispute game, or none while the market's dispute game is played by hand (tests).
    function _gameOf() private view returns (IDisputeGame game) {
        game = IDisputeGame(_market.disputeGame());
        if (address(game).code.length == 0) game = IDisputeGame(address(0));
    }

    /// @dev Segment `i` was challenged at or before the attester's commit block, so its opening (the
    /// root on chain) may have come first: the attester may have copied it, so the segment neither
    /// counts nor pays nor is slashable.
    function _late(IDisputeGame game, uint256 jobId, uint256 attempt, uint256 i, uint256 commitBlock)
        private
        view
        returns (bool)
    {
        if (address(game) == address(0)) return false;
        uint256 challenged = game.segmentChallengedAt(jobId, attempt, i);
        return challenged != 0 && challenged <= commitBlock;
    }

    function _committedJob(uint256 jobId) private view returns (IJobMarket.Job memory job) {
        job = _market.getJob(jobId);
        if (job.status != IJobMarket.JobStatus.Committed) revert AttestationsNotCommitted(jobId);
    }

    function _attesterOf(Round storage round, uint256 jobId, uint256 attempt, address account)
        private
        view
        returns (Attester storage)
    {
        if (round.seed == 0) revert AttestationsSeedNotRecorded(jobId, attempt);
        uint256 indexPlusOne = _index[jobId][attempt][account];
        if (indexPlusOne == 0) revert AttestationsNotAttester(jobId, account);
        return round.attesters[indexPlusOne - 1];
    }

    /// @dev Attester k's share of the S sampled positions: the first S mod V attesters get
    /// floor(S/V) + 1, the others floor(S/V), in draw order, consecutive (first = k·floor(S/V) + min(k, S mod V)).
    /// Splitting one total (not ceil(S/V) each) keeps the replayed work at exactly ceil(sampleRate·N).
    function _share(uint256 sampled, uint256 attesters, uint256 k) private pure returns (uint256 first, uint256 count) {
        uint256 base = sampled / attesters;
        uint256 extra = sampled % attesters;
        first = k * base + (k < extra ? k : extra);
        count = base + (k < extra ? 1 : 0);
    }

    /// @dev Segments 1 + P((first + t) mod n), t < count; P is a 4-round Feistel permutation of [0, n)
    /// keyed by keccak256(abi.encode(seed, "segments")), with cycle walking.
    function _segments(bytes32 seed, uint256 n, uint256 first, uint256 count)
        private
        pure
        returns (uint256[] memory segments)
    {
        segments = new uint256[](count);
        bytes32 key = Seeds.derive(seed, "segments");
        uint256 bits = 2;
        while ((1 << bits) < n) bits += 2;
        uint256 half = bits / 2;
        uint256 mask = (1 << half) - 1;
        for (uint256 t; t < count; ++t) {
            uint256 x = (first + t) % n;
            do {
                uint256 left = x >> half;
                uint256 right = x & mask;
                for (uint256 r; r < 4; ++r) {
                    (left, right) = (right, left ^ (uint256(keccak256(abi.encode(key, r, right))) & mask));
                }
                x = (left << half) | right;
            } while (x >= n);
            segments[t] = x + 1;
        }
    }
}
