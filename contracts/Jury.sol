// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {IJury} from "./interfaces/IJury.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {IVerifierDraws} from "./interfaces/IVerifierDraws.sol";
import {Seeds} from "./libraries/Seeds.sol";

/// @title Jury
/// @notice Juror draw, salted-digest votes, tally and re-draw (docs/PROTOCOL.md §6; DISPUTES.md). Split from the
/// DisputeGame to keep each contract under EIP-170. Holds no tokens: it only locks and unlocks juror
/// stake; slashes are settled by the game through JobMarket.
contract Jury is IJury {
    address private immutable _deployer;
    IStakeRegistry private immutable _registry;
    uint256 private immutable _jurySize;
    uint256 private immutable _minJurors;
    uint256 private immutable _seedDelay;
    uint256 private immutable _commitPhase;
    uint256 private immutable _revealPhase;
    uint256 private immutable _jurorStake;
    uint256 private immutable _jurorSlash;
    IDisputeGame private _game;

    mapping(uint256 disputeId => Panel) private _panels;
    mapping(uint256 disputeId => mapping(uint256 round => address[])) private _jurors;
    mapping(uint256 disputeId => mapping(uint256 round => mapping(address voter => Vote))) private _votes;

    /// @param registry the StakeRegistry (draws, juror locks); it must allow this contract.
    /// @param jurySize M (odd). @param minJurors least number of distinct jurors a panel may sit with
    /// (1..M); fewer seatable ⇒ the panel waits for a later draw. @param seedDelay blocks to each seed
    /// target (>= 1).
    /// @param commitPhase seconds of vote commits. @param revealPhase seconds of vote reveals.
    /// @param jurorStake locked per juror. @param jurorSlash lost by a non-revealing / minority juror.
    constructor(
        address registry,
        uint256 jurySize,
        uint256 minJurors,
        uint256 seedDelay,
        uint256 commitPhase,
        uint256 revealPhase,
        uint256 jurorStake,
        uint256 jurorSlash
    ) {
        if (
            registry == address(0) || jurySize % 2 == 0 || jurySize > 63 || minJurors == 0 || minJurors > jurySize
                || seedDelay == 0 || jurorSlash > jurorStake || jurorStake == 0
        ) revert JuryInvalidConfiguration();
        _deployer = msg.sender;
        _registry = IStakeRegistry(registry);
        (_jurySize, _minJurors, _seedDelay) = (jurySize, minJurors, seedDelay);
        (_commitPhase, _revealPhase) = (commitPhase, revealPhase);
        (_jurorStake, _jurorSlash) = (jurorStake, jurorSlash);
    }

    /// @notice One-time wiring by the deployer: the dispute game allowed to start and settle panels.
    function initialize(address game) external {
        if (msg.sender != _deployer || address(_game) != address(0) || game == address(0)) {
            revert JuryUnauthorized(msg.sender);
        }
        _game = IDisputeGame(game);
    }

    modifier onlyGame() {
        if (msg.sender != address(_game)) revert JuryUnauthorized(msg.sender);
        _;
    }

    /// @inheritdoc IJury
    function start(uint256 disputeId, address solver, address challenger, address submitter) external onlyGame {
        Panel storage p = _panels[disputeId];
        (p.phase, p.solver, p.drawDeadline) = (Phase.Seed, solver, uint64(block.timestamp + _commitPhase + _revealPhase));
        (p.challenger, p.seedBlock) = (challenger, uint64(block.number + _seedDelay));
        (p.snapshotBlock, p.submitter) = (uint64(block.number), submitter);
    }

    /// @inheritdoc IJury
    function recordSeed(uint256 disputeId) external {
        Panel storage p = _panels[disputeId];
        Phase phase = p.phase;
        if (phase != Phase.Seed && phase != Phase.Salt) revert JuryWrongPhase(disputeId, phase);
        (bool ready, bytes32 seed, uint256 newTarget) = Seeds.tryRecord(p.seedBlock, _seedDelay);
        if (!ready) revert JurySeedNotReady(disputeId, p.seedBlock);
        if (seed == 0) {
            p.seedBlock = uint64(newTarget);
            emit JurySeedMoved(disputeId, newTarget);
            return;
        }
        uint256 round = p.round;
        if (phase == Phase.Salt) {
            bytes32 salt = keccak256(abi.encode(seed, "salt", disputeId, round));
            uint64 commitDeadline = uint64(block.timestamp + _commitPhase);
            uint64 revealDeadline = uint64(commitDeadline + _revealPhase);
            (p.salt, p.commitDeadline, p.revealDeadline, p.phase) = (salt, commitDeadline, revealDeadline, Phase.Voting);
            emit JurySaltRecorded(disputeId, salt, commitDeadline, revealDeadline);
            return;
        }
        uint256 requested = round == 0 ? _jurySize : 2 * _jurySize + 1;
        address[] memory drawn = _seatable(disputeId, p, seed, requested);
        uint256 size = drawn.length;
        if (size % 2 == 0 && size != 0) --size; // the largest odd number available
        if (size < _minJurors) return _wait(disputeId, p, round, size);
        assembly ("memory-safe") {
            mstore(drawn, size)
        }
        uint64 saltBlock = uint64(block.number + _seedDelay);
        (p.size, p.seedBlock, p.phase) = (uint8(size), saltBlock, Phase.Salt);
        emit JuryDrawn(disputeId, round, drawn, requested, size, saltBlock);
        mapping(address => Vote) storage votes = _votes[disputeId][round];
        address[] storage jurors = _jurors[disputeId][round];
        for (uint256 k; k < size; ++k) {
            address juror = drawn[k];
            jurors.push(juror);
            (votes[juror].juror, votes[juror].locked) = (true, uint96(_jurorStake));
            _registry.lock(juror, _jurorStake);
        }
    }

    /// @inheritdoc IJury
    function commitVote(uint256 disputeId, bytes32 commitment) external {
        Panel storage p = _voting(disputeId);
        if (block.timestamp > p.commitDeadline) revert JuryVotePhase(disputeId, p.commitDeadline);
        Vote storage vote = _votes[disputeId][p.round][msg.sender];
        if (
            (!vote.juror && msg.sender != p.solver && msg.sender != p.challenger) || vote.commitment != 0
                || commitment == 0
        ) revert JuryNotVoter(disputeId, msg.sender);
        vote.commitment = commitment;
        emit VoteCommitted(disputeId, p.round, msg.sender);
    }

    /// @inheritdoc IJury
    function revealVote(uint256 disputeId, bytes32 digest, bytes32 salt) external {
        Panel storage p = _voting(disputeId);
        if (block.timestamp <= p.commitDeadline || block.timestamp > p.revealDeadline) {
            revert JuryVotePhase(disputeId, block.timestamp <= p.commitDeadline ? p.commitDeadline : p.revealDeadline);
        }
        uint256 round = p.round;
        Vote storage vote = _votes[disputeId][round][msg.sender];
        if (vote.commitment == 0 || vote.revealed) revert JuryNotVoter(disputeId, msg.sender);
        if (keccak256(abi.encode(disputeId, round, msg.sender, digest, salt)) != vote.commitment) {
            revert JuryVoteMismatch(disputeId, msg.sender);
        }
        (vote.digest, vote.revealed) = (digest, true);
        emit VoteRevealed(disputeId, round, msg.sender, digest);
    }

    /// @inheritdoc IJury
    function resolve(uint256 disputeId) external {
        Panel storage p = _voting(disputeId);
        if (block.timestamp <= p.revealDeadline) revert JuryVotePhase(disputeId, p.revealDeadline);
        uint256 round = p.round;
        mapping(address => Vote) storage votes = _votes[disputeId][round];
        Vote storage solverVote = votes[p.solver];
        bool decided = true;
        bool solverWrong;
        if (!solverVote.revealed || solverVote.digest == 0) {
            solverWrong = true;
        } else if (!votes[p.challenger].revealed) {
            solverWrong = false;
        } else {
            (uint256 revealed, uint256 forSolver) = _count(disputeId, round, solverVote.digest);
            if (2 * forSolver != revealed) solverWrong = 2 * forSolver < revealed;
            else if (round == 1) solverWrong = true;
            else decided = false;
        }
        if (!decided) {
            uint64 seedBlock = uint64(block.number + _seedDelay);
            (p.round, p.seedBlock, p.snapshotBlock, p.phase, p.salt) = (1, seedBlock, uint64(block.number), Phase.Seed, 0);
            p.drawDeadline = uint64(block.timestamp + _commitPhase + _revealPhase);
            emit JuryTied(disputeId, round, 2 * _jurySize + 1, seedBlock);
            return;
        }
        p.phase = Phase.Done;
        emit JuryDecided(disputeId, solverWrong);
        _game.onVerdict(disputeId, solverWrong);
    }

    /// @inheritdoc IJury
    function settle(uint256 disputeId, bool, uint256 fee, uint256 budget)
        external
        onlyGame
        returns (address[] memory payees, uint256[] memory fees, address[] memory slashed, uint256[] memory slashes)
    {
        Panel storage p = _panels[disputeId];
        uint256 lastRound = p.round;
        uint256 total = _jurors[disputeId][0].length + _jurors[disputeId][1].length;
        (payees, fees, slashed, slashes) = (new address[](total), new uint256[](total), new address[](total), new uint256[](total));
        (uint256 paidCount, uint256 slashCount, uint256 spent) = (0, 0, 0);
        for (uint256 round; round <= lastRound; ++round) {
            mapping(address => Vote) storage votes = _votes[disputeId][round];
            // Jurors are judged by the round's own revealed majority, for or against the solver's
            // digest, never by the verdict: a party that stays silent loses the dispute, but costs no
            // juror anything. A solver digest of 0 ("unavailable") or none: no juror sides with it, so
            // every revealing juror is with the majority. A tie (the round before a re-draw, or a
            // second tie) has no minority.
            bytes32 solverDigest = votes[p.solver].revealed ? votes[p.solver].digest : bytes32(0);
            (uint256 revealed, uint256 forSolver) = solverDigest == 0 ? (0, 0) : _count(disputeId, round, solverDigest);
            bool tie = 2 * forSolver == revealed;
            bool majorityForSolver = 2 * forSolver > revealed;
            address[] storage jurors = _jurors[disputeId][round];
            for (uint256 k; k < jurors.length; ++k) {
                address juror = jurors[k];
                Vote storage vote = votes[juror];
                bool withSolver = solverDigest != 0 && vote.digest == solverDigest;
                uint256 locked = vote.locked;
                if (vote.revealed && (tie || withSolver == majorityForSolver)) {
                    uint256 paid = fee < budget - spent ? fee : budget - spent;
                    (payees[paidCount], fees[paidCount]) = (juror, paid);
                    ++paidCount;
                    spent += paid;
                    _registry.unlock(juror, locked);
                } else {
                    uint256 slash = _jurorSlash < locked ? _jurorSlash : locked;
                    (slashed[slashCount], slashes[slashCount]) = (juror, slash);
                    ++slashCount;
                    _registry.unlock(juror, locked - slash);
                }
            }
        }
        assembly ("memory-safe") {
            mstore(payees, paidCount)
            mstore(fees, paidCount)
            mstore(slashed, slashCount)
            mstore(slashes, slashCount)
        }
        p.phase = Phase.Done;
    }

    /// @inheritdoc IJury
    function release(uint256 disputeId) external onlyGame {
        Panel storage p = _panels[disputeId];
        for (uint256 round; round <= p.round; ++round) {
            address[] storage jurors = _jurors[disputeId][round];
            for (uint256 k; k < jurors.length; ++k) {
                _registry.unlock(jurors[k], _votes[disputeId][round][jurors[k]].locked);
            }
        }
        p.phase = Phase.Done;
    }

    /// @inheritdoc IJury
    function panelOf(uint256 disputeId) external view returns (Panel memory) {
        return _panels[disputeId];
    }

    /// @inheritdoc IJury
    function jurorsOf(uint256 disputeId, uint256 round) external view returns (address[] memory) {
        return _jurors[disputeId][round];
    }

    /// @inheritdoc IJury
    function voteOf(uint256 disputeId, uint256 round, address voter) external view returns (Vote memory) {
        return _votes[disputeId][round][voter];
    }

    /// @dev Up to `requested` distinct jurors for the pending round, in draw order: drawn by stake
    /// at the snapshot (the job's submitter, solver and challenger excluded), keeping only those whose
    /// free stake *now* covers the whole juror stake. When some are skipped, the same draw is extended
    /// (its prefix does not change) up to four times the request.
    function _seatable(uint256 disputeId, Panel storage p, bytes32 seed, uint256 requested)
        private
        view
        returns (address[] memory seated)
    {
        address[] memory exclude = new address[](3);
        (exclude[0], exclude[1], exclude[2]) = (p.solver, p.challenger, p.submitter);
        bytes32 drawSeed = keccak256(abi.encode(seed, "jurors", disputeId, uint256(p.round)));
        seated = new address[](requested);
        (uint256 count, uint256 examined) = (0, 0);
        for (uint256 ask = requested; ask <= 4 * requested; ask *= 2) {
            (address[] memory drawn,) =
                IVerifierDraws(address(_registry)).drawVerifiers(drawSeed, ask, exclude, p.snapshotBlock);
            for (; examined < drawn.length && count < requested; ++examined) {
                if (_registry.freeStakeOf(drawn[examined]) >= _jurorStake) seated[count++] = drawn[examined];
            }
            if (count == requested || drawn.length < ask) break;
        }
        assembly ("memory-safe") {
            mstore(seated, count)
        }
    }

    /// @dev Fewer than `minJurors` can sit: draw again later from a fresh seed and snapshot (stake that
    /// joins meanwhile counts), or, past the round's draw deadline, give the dispute up as void.
    function _wait(uint256 disputeId, Panel storage p, uint256 round, uint256 seatable) private {
        if (block.timestamp > p.drawDeadline) {
            p.phase = Phase.Done;
            emit JuryNotSeated(disputeId, round, seatable);
            _game.onNoJury(disputeId);
            return;
        }
        uint64 seedBlock = uint64(block.number + _seedDelay);
        (p.seedBlock, p.snapshotBlock) = (seedBlock, uint64(block.number));
        emit JuryWaiting(disputeId, round, seatable, _minJurors, seedBlock);
    }

    /// @dev Jurors of `round` that revealed, and how many of them revealed `solverDigest`.
    function _count(uint256 disputeId, uint256 round, bytes32 solverDigest)
        private
        view
        returns (uint256 revealed, uint256 forSolver)
    {
        mapping(address => Vote) storage votes = _votes[disputeId][round];
        address[] storage jurors = _jurors[disputeId][round];
        for (uint256 k; k < jurors.length; ++k) {
            Vote storage vote = votes[jurors[k]];
            if (!vote.revealed) continue;
            ++revealed;
            if (vote.digest == solverDigest) ++forSolver;
        }
    }

    function _voting(uint256 disputeId) private view returns (Panel storage p) {
        p = _panels[disputeId];
        if (p.phase != Phase.Voting) revert JuryWrongPhase(disputeId, p.phase);
    }
}
