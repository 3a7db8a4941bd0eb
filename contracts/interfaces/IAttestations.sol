// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IAttestations
/// @notice Sampled re-execution attestations of a committed trace (docs/PROTOCOL.md §5).
///
/// Flow for job `jobId`, attempt `a`, committed in block `c` (`Job.commitBlock`):
/// 1. the attester seed's target block is `b = c + seedDelay`; once `b` is mined anyone calls
///    `recordSeed(jobId)`. It draws `V` attesters stake-weighted without replacement among the
///    verifiers as of block `c` (the solver excluded). Not recorded within 256 blocks of `b`: the call
///    moves the target to `block.number + seedDelay` instead (event `AttesterSeedMoved`).
/// 2. `S = min(N, ceil(sampleRateBps·N / 10000))`, raised to the number of drawn attesters `V'` if smaller,
///    positions are sampled in total; attester k (0-based draw order) gets `c_k = floor(S/V') + (k < S mod V' ? 1 : 0)`
///    of them, `segmentOf(first_k + t)` for t < c_k, `first_k = k·floor(S/V') + min(k, S mod V')`, where
///    `segmentOf(x) = 1 + permute(seed, x mod N)` and `permute` is a keyed Feistel permutation of
///    [0, N) (see `DISPUTES.md`; `assignedSegments` returns them).
/// 3. while `block.timestamp <= job.deadline` (the challenge window) and before the first reveal of
///    this attempt, an attester calls `commitAttestation(jobId, digest)` once, with
///    `digest = keccak256(abi.encode(h_1, …, h_c))` and
///    `h_t = keccak256(abi.encode(jobId, a, i_t, segRoot_{i_t}, attester, salt))` in assignment order.
/// 4. in the reveal phase (`job.deadline < block.timestamp <= job.deadline + revealPhase`, no open
///    dispute) it calls `revealAttestation(jobId, segRoots, salt, proofs)`: the digest must match; each
///    segment whose segment leaf verifies against `segRootsRoot` counts as valid.
/// 5. `JobMarket.finalizeJob` pays `verifierFee / assignedSegments` per valid segment (see
///    `payoutsOf`) and the rest, dust included, to the submitter.
/// Attesters that revealed a valid root of a segment later proven fraudulent (`revealersOf`) are
/// slashed `attesterSlash` by the dispute game.
interface IAttestations {
    /// @notice One drawn attester of a job attempt.
    struct Attester {
        address account;
        uint48 commitBlock; // block of the commit: a segment challenged at or before it does not count
        bytes32 digest; // commitment, 0 until committed
        uint32 validSegments; // set at reveal
        bool revealed;
        uint256 validMask; // bit t: the t-th assigned segment's reveal verified (t < 256; later ones in storage)
    }

    /// @notice No job `jobId` is committed (status `status`).
    error AttestationsNotCommitted(uint256 jobId);
    /// @notice The attester seed of this attempt is already recorded.
    error AttestationsSeedRecorded(uint256 jobId, uint256 attempt);
    /// @notice The seed's target block `targetBlock` is not mined yet.
    error AttestationsSeedNotReady(uint256 jobId, uint256 targetBlock);
    /// @notice The seed of this attempt is not recorded yet.
    error AttestationsSeedNotRecorded(uint256 jobId, uint256 attempt);
    /// @notice `account` is not an attester of this attempt.
    error AttestationsNotAttester(uint256 jobId, address account);
    /// @notice The commit phase is over (window ended or a reveal happened).
    error AttestationsCommitClosed(uint256 jobId);
    /// @notice The attester already committed (or revealed).
    error AttestationsAlreadyCommitted(uint256 jobId, address account);
    /// @notice Not in the reveal phase (ends/starts at `deadline`), or a dispute is open.
    error AttestationsNotRevealPhase(uint256 jobId, uint256 deadline);
    /// @notice The revealed values do not hash to the committed digest.
    error AttestationsDigestMismatch(uint256 jobId, address account);
    /// @notice `segRoots` or `proofs` do not have one entry per assigned segment (`expected`).
    error AttestationsWrongLength(uint256 expected, uint256 given);
    /// @notice The commitment preimage given does not match the job's commitment.
    error AttestationsCommitmentMismatch(uint256 jobId);
    /// @notice `caller` is not the deployer, or the contract is already wired.
    error AttestationsUnauthorized(address caller);
    error AttestationsInvalidConfiguration();

    /// @notice Emitted when the seed target of (`jobId`, `attempt`) moved to `targetBlock`.
    event AttesterSeedMoved(uint256 indexed jobId, uint256 attempt, uint256 targetBlock);
    /// @notice Emitted when the seed was recorded and `attesters` drawn (`sampled` = S segment positions split over them).
    event AttestersDrawn(
        uint256 indexed jobId, uint256 attempt, bytes32 seed, address[] attesters, uint256 sampled
    );
    /// @notice Emitted when `attester` committed `digest`.
    event AttestationCommitted(uint256 indexed jobId, uint256 attempt, address indexed attester, bytes32 digest);
    /// @notice Emitted when `attester` revealed; `validSegments` of its segments verified.
    event AttestationRevealed(
        uint256 indexed jobId, uint256 attempt, address indexed attester, bytes32[] segRoots, uint256 validSegments
    );

    /// @notice Record the attester seed of the job's current attempt (anyone, once the target is mined),
    /// drawing the attesters; or move the target when it is older than 256 blocks.
    function recordSeed(uint256 jobId) external;

    /// @notice Commit to the caller's assigned segments (see the flow above).
    function commitAttestation(uint256 jobId, bytes32 digest) external;

    /// @notice Reveal the segment roots of the caller's assigned segments, in assignment order,
    /// each with its segment-leaf proof against `segRootsRoot` (a tree of N leaves, leaf index i − 1).
    /// `commitment` is the job's commitment preimage (stateRoot, segRootsRoot, finalStateHash, manifestHash).
    function revealAttestation(
        uint256 jobId,
        bytes32[4] calldata commitment,
        bytes32[] calldata segRoots,
        bytes32 salt,
        bytes32[][] calldata proofs
    ) external;

    /// @notice One-time wiring by the deployer: the JobMarket whose jobs are attested.
    function initialize(address market) external;

    // --- views ---

    /// @notice Segments (1-based) assigned to `account` in the current attempt; empty if not drawn.
    function assignedSegments(uint256 jobId, address account) external view returns (uint256[] memory);
    /// @notice Attesters of (`jobId`, `attempt`) in draw order.
    function attestersOf(uint256 jobId, uint256 attempt) external view returns (Attester[] memory);
    /// @notice Seed state of (`jobId`, `attempt`): the target block and the seed (0 until recorded).
    function seedOf(uint256 jobId, uint256 attempt) external view returns (uint256 targetBlock, bytes32 seed);
    /// @notice What finalize pays: attesters with valid revealed segments, their counts, and the total
    /// number of assigned segments (the fee divisor; 0 when no attester was drawn).
    function payoutsOf(uint256 jobId, uint256 attempt)
        external
        view
        returns (address[] memory attesters, uint256[] memory validSegments, uint256 assignedSegments);
    /// @notice Attesters of (`jobId`, `attempt`) that revealed a valid root for `segment` (the dispute
    /// game slashes them when fraud is proven on that segment).
    function revealersOf(uint256 jobId, uint256 attempt, uint256 segment) external view returns (address[] memory);
    /// @notice The `count` segments (1-based) at assignment positions `first`.. of a job of `numSegments`
    /// segments under `seed` (the Feistel permutation of DISPUTES.md).
    function segmentsAt(bytes32 seed, uint256 numSegments, uint256 first, uint256 count)
        external
        pure
        returns (uint256[] memory);
    function attestersPerJob() external view returns (uint256);
    function seedDelay() external view returns (uint256);
    function attesterSlash() external view returns (uint256);
}
