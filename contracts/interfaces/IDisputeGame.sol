// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDisputeGame
/// @notice Challenges, openings, n-ary bisection with chess clocks, availability claims, the jury and
/// resolution (docs/PROTOCOL.md §6, defaults §8). See `docs/DISPUTES.md` for the full timeline.
///
/// Time rules (all inclusive, `<=` means "still allowed at that second"):
/// - challenge / availability claim: the job is Committed and `block.timestamp <= job.deadline + revealPhase`
///   (dataset claims: the job is Claimed by the caller and `block.timestamp <= job.deadline`);
///   the reveal must come in a later block than the commit, and the commit after the job's commit block.
/// - chess clocks: each party has `moveClock` seconds in total; the party to move loses with
///   `timeout(disputeId)` (anyone) once `block.timestamp > lastMoveAt + clockLeft`.
/// - jury: once the step is pinned (event `StepPinned`) the dispute is in phase Jury and `IJury` (the
///   `jury()` contract, same dispute id) runs the panel; its verdict comes back via `onVerdict`.
interface IDisputeGame {
    enum Kind {
        Segment, // segment i >= 1: openings, bisection, jury on one step
        InitialState, // i = 0: the solver opens checkpoint leaf 0, then the jury derives state 0 from the spec
        Availability // a checkpoint / the manifest / the final model / the dataset: jury only
    }

    enum Phase {
        None,
        Opening, // solver to move: openSegment / openInitialState
        Propose, // solver to move: proposeSplit
        Choose, // challenger to move: chooseRange
        Confirm, // solver to move: confirmStep (step leaves lo and hi against segRoot)
        Jury, // the IJury panel of the same id decides
        Resolved
    }

    enum Outcome {
        None,
        SolverWrong, // respondent lost (fraud proven / data unavailable)
        ChallengerWrong, // claimant lost
        Void // the job moved on (another dispute reopened it): bonds and juror locks released
    }

    /// @notice What an availability claim is about. `index` is the checkpoint index for Checkpoint.
    enum Target {
        None,
        Checkpoint,
        Manifest,
        FinalModel,
        Dataset
    }

    /// @notice One dispute. The "solver" is the respondent (for a Dataset claim: the submitter); the
    /// "challenger" the claimant (for a Dataset claim: the solver).
    struct Dispute {
        uint64 jobId;
        uint32 attempt;
        uint32 segment; // i (0 for InitialState; checkpoint index for Target.Checkpoint)
        Kind kind;
        Target target;
        Phase phase;
        Outcome outcome;
        uint32 solverClock; // seconds left
        uint32 challengerClock; // seconds left
        address challenger;
        uint96 bond; // locked stake of the challenger
        address solver;
        uint64 commitSeq; // order of the challenge commit (informational: the jackpot is split)
        uint32 lo; // bisection range within the segment: agreed step lo, disputed step hi
        uint32 hi;
        uint32 checkpointEvery; // K of the job
        uint32 numSegments; // N of the job
        uint64 openedAt;
        uint64 lastMoveAt;
        bytes32 hashLo; // stateHash at step lo (agreed)
        bytes32 hashHi; // stateHash at step hi (disputed)
        bytes32 segRoot; // opened segRoot_i
        bytes32 splitHash; // keccak256(abi.encode(hashes)) of the pending proposal
        bytes32 commitment; // the job's commitment when the dispute opened
    }


    /// @notice Deployment parameters (docs/PROTOCOL.md §7 defaults in `node/chain/deploy.py`).
    struct Params {
        uint96 minChallengeBond;
        uint32 moveClock;
        uint32 bisectionDegree;
        uint16 jurorFeeBps; // of the reward, per juror
        uint16 jackpotBps; // of the slashed lock after jury fees
        uint16 submitterBps; // of the slashed lock after jury fees
        uint16 bondToSolverBps; // of the lost bond after jury fees
        uint16 challengeFeeBps; // of the bond: burned for every revealed challenge (not for claims)
    }

    error DisputeGameUnknownDispute(uint256 disputeId);
    /// @notice The challenge commitment `hash` is already used or was never made by the caller.
    error DisputeGameBadCommit(bytes32 hash);
    /// @notice The challenge must be revealed in a later block than its commit, after the job's commit.
    error DisputeGameCommitTooLate(bytes32 hash);
    /// @notice The job is not in a state that allows this claim/challenge (or the window is over).
    error DisputeGameNotChallengeable(uint256 jobId);
    /// @notice The segment / checkpoint index is out of range for the job.
    error DisputeGameBadIndex(uint256 jobId, uint256 index);
    /// @notice `caller` may not make this move.
    error DisputeGameNotYourMove(uint256 disputeId, address caller);
    /// @notice The dispute is in `phase`, which does not allow this action.
    error DisputeGameWrongPhase(uint256 disputeId, Phase phase);
    /// @notice The dispute is of `kind`, which this opening does not answer (openSegment answers a
    /// Segment dispute, openInitialState an InitialState one).
    error DisputeGameWrongKind(uint256 disputeId, Kind kind);
    /// @notice The commitment preimage does not match the job's commitment.
    error DisputeGameCommitmentMismatch(uint256 jobId);
    /// @notice An opening proof failed: `what` names it (1 prev checkpoint, 2 next checkpoint,
    /// 3 segment leaf, 4 step leaf 0, 5 step leaf K, 6 checkpoint 0).
    error DisputeGameBadOpening(uint256 disputeId, uint256 what);
    /// @notice The hash list has the wrong length (`k` expected), or a step proof failed (`k` = 0 lo, 1 hi).
    error DisputeGameBadSplit(uint256 disputeId, uint256 k);
    /// @notice The chosen sub-range `k` is out of range or the hashes do not match the proposal.
    error DisputeGameBadChoice(uint256 disputeId, uint256 k);
    /// @notice The party to move still has time until `deadline`.
    error DisputeGameClockRunning(uint256 disputeId, uint256 deadline);
    /// @notice The dispute cannot be voided: its job attempt is still live.
    error DisputeGameNotStale(uint256 disputeId);
    /// @notice The job's solver already claimed this attempt's dataset unavailable: one claim per
    /// attempt, so a rejected claimant cannot hold the job by claiming again and again.
    error DisputeGameDatasetClaimed(uint256 jobId, uint256 attempt);
    /// @notice Too many disputes are open on one segment.
    error DisputeGameTooManyDisputes(uint256 jobId, uint256 segment);
    /// @notice The mover's clock ran out at `deadline`: only `timeout` is possible now.
    error DisputeGameOutOfTime(uint256 disputeId, uint256 deadline);
    error DisputeGameInvalidConfiguration();
    error DisputeGameUnauthorized(address caller);

    event ChallengeCommitted(bytes32 indexed hash, address indexed challenger, uint256 commitSeq);
    /// @notice A dispute opened; the solver must open within `moveClock` (phase Opening); an
    /// availability claim goes straight to the jury (`StepPinned` follows). `commitSeq` is the
    /// `ChallengeCommitted` sequence number of the challenge it reveals (a claim takes a fresh one).
    event DisputeOpened(
        uint256 indexed disputeId,
        uint256 indexed jobId,
        uint256 attempt,
        Kind kind,
        Target target,
        uint256 segment,
        address challenger,
        address solver,
        uint256 bond,
        uint256 commitSeq
    );
    /// @notice The solver opened segment `segment`: `segRoot`, stateHash at step 0 and K.
    event SegmentOpened(uint256 indexed disputeId, bytes32 segRoot, bytes32 hashStart, bytes32 hashEnd);
    /// @notice The solver opened checkpoint leaf 0 (`InitialState`): `stateHash0`.
    event InitialStateOpened(uint256 indexed disputeId, bytes32 stateHash0);
    /// @notice The solver proposed `hashes` at `points` (step indices within the segment).
    event SplitProposed(uint256 indexed disputeId, uint256[] points, bytes32[] hashes);
    /// @notice The challenger chose sub-range [`lo`, `hi`].
    event RangeChosen(uint256 indexed disputeId, uint256 lo, uint256 hi, bytes32 hashLo, bytes32 hashHi);
    /// @notice The disputed step is pinned (global step `step` → `step + 1`), or an availability
    /// claim / initial-state dispute went to the jury (the IJury panel started: see `IJury.panelOf`).
    event StepPinned(uint256 indexed disputeId, uint256 step, bytes32 hashBefore, bytes32 hashAfter);
    /// @notice `party` ran out of its clock.
    event DisputeTimedOut(uint256 indexed disputeId, address indexed party);
    /// @notice The dispute ended with `outcome`; `winner` gained `winnerPaid`, `burned` was burned.
    event DisputeResolved(
        uint256 indexed disputeId, Outcome outcome, address winner, uint256 winnerPaid, uint256 juryFees, uint256 burned
    );
    /// @notice The solver was convicted on the segment of dispute `convictedBy`: this open dispute on
    /// the same segment ends (outcome Void), its bond is released, its challenge fee burned, and its
    /// challenger gets an equal `share` of the jackpot.
    event JackpotShared(uint256 indexed disputeId, uint256 indexed convictedBy, address challenger, uint256 share);
    /// @notice `juror` was slashed `amount` (did not reveal, or voted with the minority).
    event JurorSlashed(uint256 indexed disputeId, address indexed juror, uint256 amount);
    /// @notice Attesters that revealed a valid root of the fraudulent segment were slashed.
    event AttestersSlashed(uint256 indexed disputeId, address[] attesters, uint256[] amounts);

    /// @notice One-time wiring by the deployer.
    function initialize(address market, address attestations, address jury) external;

    // --- challenger ---

    /// @notice Commit to a challenge: `hash = keccak256(abi.encode(jobId, attempt, segment, challenger, salt))`.
    /// `segment` 1..N for a segment, 0 for the initial state. Stored under the caller: a copy of a
    /// pending hash by someone else neither blocks nor steals it. Records the global commit order.
    function commitChallenge(bytes32 hash) external;
    /// @notice Reveal a committed challenge; locks the bond max(minChallengeBond, reward / 10) plus the
    /// challenge fee (`challengeFeeBps` of the bond) of the caller's free stake and freezes the job. The
    /// fee is burned when the dispute ends on its merits or shares a conviction, and released with
    /// the bond when the attempt ends otherwise (Void). Returns the dispute id.
    function revealChallenge(uint256 jobId, uint256 segment, bytes32 salt) external returns (uint256 disputeId);
    /// @notice Open an availability claim (no commit-reveal: nothing to front-run). Checkpoint /
    /// Manifest / FinalModel: any verifier or the submitter while challenges are allowed;
    /// Dataset: the job's solver while Claimed and before its solve deadline. Locks the bond.
    function openAvailabilityClaim(uint256 jobId, Target target, uint256 index) external returns (uint256 disputeId);

    // --- solver: openings and bisection ---

    /// @notice Open segment i: checkpoint leaves i-1 and i, segment leaf i (revealing segRoot), and
    /// step leaves 0 and K of segRoot carrying the same stateHashes. Proof depths: checkpoint tree of
    /// N + 1 leaves, segment tree of N leaves (index i - 1), step tree of K + 1 leaves.
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
    ) external;
    /// @notice Open checkpoint leaf 0 (initial-state dispute): the jury then judges it.
    function openInitialState(uint256 disputeId, bytes32[4] calldata commitment, bytes32 stateHash0, bytes32[] calldata proof)
        external;
    /// @notice Solver: stateHashes at the split points of [lo, hi] (see `splitPoints`). No proofs: only
    /// the two hashes that end up pinned must be step leaves of segRoot (`confirmStep`); a solver that
    /// proposes hashes outside its segRoot cannot confirm and loses.
    function proposeSplit(uint256 disputeId, bytes32[] calldata hashes) external;
    /// @notice Challenger: the first sub-range k (0-based) it disagrees with; `hashes` = the proposal.
    /// When the chosen sub-range is one step long the dispute moves to Confirm.
    function chooseRange(uint256 disputeId, uint256 k, bytes32[] calldata hashes) external;
    /// @notice Solver: prove step leaves lo and hi (= lo + 1) of segRoot carry hashLo and hashHi (tree
    /// of K + 1 leaves); the step is pinned and the jury starts.
    function confirmStep(uint256 disputeId, bytes32[] calldata loProof, bytes32[] calldata hiProof) external;
    /// @notice Anyone: the party to move ran out of its clock and loses.
    function timeout(uint256 disputeId) external;

    // --- jury ---

    /// @notice Jury only: the panel of `disputeId` decided (`solverWrong`); settles the dispute, or
    /// voids it when its job attempt already ended.
    function onVerdict(uint256 disputeId, bool solverWrong) external;    /// @notice Anyone: release a dispute whose job attempt ended otherwise (outcome Void).
    function voidStale(uint256 disputeId) external;
    /// @notice Jury only: no jury could sit by the draw deadline. The dispute becomes `Void` (bond and
    /// juror locks released, nobody paid); the job is unfrozen as after any dispute (its deadline
    /// moves by the frozen time, within the attempt's window-extension cap).
    function onNoJury(uint256 disputeId) external;

    // --- views ---

    function getDispute(uint256 disputeId) external view returns (Dispute memory);
    function disputeCount() external view returns (uint256);
    function jury() external view returns (address);
    /// @notice Step indices (within the segment) the solver must open next for [lo, hi].
    function splitPoints(uint256 disputeId) external view returns (uint256[] memory);
    /// @notice max(minChallengeBond, reward / 10) for job `jobId`.
    function challengeBondOf(uint256 jobId) external view returns (uint256);
    function params() external view returns (Params memory);
    /// @notice Block of the first revealed challenge of (job, attempt, segment), 0 if none. Its
    /// `openSegment` (the root on chain) can only follow, so an attestation committed in or after that
    /// block may be a copy and does not count for the segment.
    function segmentChallengedAt(uint256 jobId, uint256 attempt, uint256 segment) external view returns (uint256);
    /// @notice The challenge fee burned per revealed challenge of job `jobId`.
    function challengeFeeOf(uint256 jobId) external view returns (uint256);
}
