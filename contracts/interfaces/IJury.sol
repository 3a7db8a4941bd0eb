// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IJury
/// @notice The jury of a dispute (docs/PROTOCOL.md §6): juror draw with a stake snapshot, salted-digest votes,
/// tally, one re-draw on a tie. Started by the DisputeGame when a dispute is pinned; it reports the
/// verdict back to the game, which pays (see DISPUTES.md).
///
/// Timeline of dispute `id`: `start` (by the game) sets seed 1's target `block.number + seedDelay`, the
/// stake snapshot = that block, and the draw deadline `now + commitPhase + revealPhase`. `recordSeed(id)`
/// (anyone, once mined) draws M jurors (stake-weighted), excluding the job's submitter, solver and
/// challenger, seats those that can lock the whole `jurorStake` and locks it; it sets seed 2's target.
/// Fewer than `minJurors` seatable: the panel waits (new seed target and snapshot, `JuryWaiting`), and
/// past the draw deadline the dispute is void (`JuryNotSeated`, `IDisputeGame.onNoJury`). The next
/// `recordSeed(id)` sets the salt `r` and opens voting: commit until `commitDeadline`, reveal until
/// `revealDeadline`. `resolve(id)` (anyone, after `revealDeadline`) decides or re-draws once.
interface IJury {
    enum Phase {
        None,
        Seed, // waiting for recordSeed: draws the jurors
        Salt, // waiting for recordSeed: the digest salt r
        Voting,
        Done
    }

    struct Panel {
        Phase phase;
        uint8 round; // 0, then 1 after a tie
        uint8 size; // jurors drawn in the current round
        address solver; // respondent: must reveal the digest the jurors check
        uint64 drawDeadline; // past it, a panel that still cannot sit `minJurors` makes the dispute void
        address challenger; // claimant: must reveal too
        uint64 seedBlock;
        uint64 snapshotBlock;
        address submitter; // the job's submitter: never drawn, like the two parties
        uint64 commitDeadline;
        uint64 revealDeadline;
        bytes32 salt; // r
    }

    /// @notice One vote (juror, or the solver / challenger digest).
    struct Vote {
        bytes32 commitment; // keccak256(abi.encode(disputeId, round, voter, digest, salt))
        bytes32 digest; // revealed digest; 0 = "unavailable"
        bool revealed;
        bool juror;
        uint96 locked; // juror stake locked at draw time (always the whole `jurorStake`)
    }

    error JuryUnauthorized(address caller);
    error JuryInvalidConfiguration();
    /// @notice The panel of `disputeId` is in `phase`, which does not allow this.
    error JuryWrongPhase(uint256 disputeId, Phase phase);
    /// @notice The pending seed's target `targetBlock` is not mined yet.
    error JurySeedNotReady(uint256 disputeId, uint256 targetBlock);
    /// @notice `caller` may not vote in this round, or already committed / revealed.
    error JuryNotVoter(uint256 disputeId, address caller);
    /// @notice Outside the vote (commit / reveal) phase; the relevant deadline is given.
    error JuryVotePhase(uint256 disputeId, uint256 deadline);
    /// @notice The revealed digest and salt do not match the commitment.
    error JuryVoteMismatch(uint256 disputeId, address voter);

    event JurySeedMoved(uint256 indexed disputeId, uint256 seedBlock);
    /// @notice `drawn` of `requested` jurors (fewer when fewer were eligible: the largest odd number).
    event JuryDrawn(
        uint256 indexed disputeId, uint256 round, address[] jurors, uint256 requested, uint256 drawn, uint256 saltBlock
    );
    event JurySaltRecorded(uint256 indexed disputeId, bytes32 salt, uint256 commitDeadline, uint256 revealDeadline);
    event VoteCommitted(uint256 indexed disputeId, uint256 round, address indexed voter);
    event VoteRevealed(uint256 indexed disputeId, uint256 round, address indexed voter, bytes32 digest);
    /// @notice Only `seatable` (< `minJurors`) jurors could sit: the round is drawn again from seed target
    /// `seedBlock` with a new snapshot.
    event JuryWaiting(
        uint256 indexed disputeId, uint256 round, uint256 seatable, uint256 minJurors, uint256 seedBlock
    );
    /// @notice The draw deadline passed with only `seatable` jurors: the dispute is void.
    event JuryNotSeated(uint256 indexed disputeId, uint256 round, uint256 seatable);
    /// @notice Tie or no reveal: a new jury of `nextSize` is drawn from seed target `seedBlock`.
    event JuryTied(uint256 indexed disputeId, uint256 round, uint256 nextSize, uint256 seedBlock);
    /// @notice The jury decided (`solverWrong`).
    event JuryDecided(uint256 indexed disputeId, bool solverWrong);

    /// @notice Game only: start the panel of a pinned dispute.
    function start(uint256 disputeId, address solver, address challenger, address submitter) external;
    /// @notice Anyone: record the pending seed (draw, then salt) or move a target older than 256 blocks.
    function recordSeed(uint256 disputeId) external;
    function commitVote(uint256 disputeId, bytes32 commitment) external;
    /// @notice Reveal `digest` = BLAKE3(r ‖ state) or 0 (unavailable).
    function revealVote(uint256 disputeId, bytes32 digest, bytes32 salt) external;
    /// @notice Anyone after `revealDeadline`: decide (reported to the game) or re-draw once.
    function resolve(uint256 disputeId) external;
    /// @notice Game only: unlock jurors; return the fee payees (good jurors) with `fee` each within
    /// `budget`, and the slashed jurors with their slash (locked, the game settles it). Jurors are
    /// judged by their round's revealed majority, not by the verdict (`solverWrong` is not used): a
    /// revealing juror is paid unless that majority exists and it voted the other way.
    function settle(uint256 disputeId, bool solverWrong, uint256 fee, uint256 budget)
        external
        returns (address[] memory payees, uint256[] memory fees, address[] memory slashed, uint256[] memory slashes);
    /// @notice Game only: unlock every juror (the dispute became void).
    function release(uint256 disputeId) external;

    function panelOf(uint256 disputeId) external view returns (Panel memory);
    function jurorsOf(uint256 disputeId, uint256 round) external view returns (address[] memory);
    function voteOf(uint256 disputeId, uint256 round, address voter) external view returns (Vote memory);
}
