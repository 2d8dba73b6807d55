using System.Data.Common;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Microsoft.Data.Sqlite;

namespace ChatOpsPull.Storage;

/// <summary>
/// Group commit across callers (SQLite, and PostgreSQL's intake): the caller that is handed the write turn runs its own round and the rounds of
/// the callers queued behind it (<see cref="SqliteWriteTurn.ClaimWaitingRounds"/>) in one transaction, each in its own
/// savepoint, and commits once. A storm's hundred subjects then cost a few transactions (connection, BEGIN IMMEDIATE,
/// commit, and one hand-over of the turn through the thread pool each) instead of one per subject round.
/// A round that throws is rolled back to its savepoint and handed its exception at once (its caller retries as it would
/// after a transaction of its own); the others go on. Every other round is handed its result only once the commit that
/// holds it succeeded, so nothing is acknowledged or told before it is durable; when the transaction as a whole fails
/// (BEGIN, the commit, a full disk) every round not yet answered gets that failure, and none of it is stored.
/// As many rounds as were queued when the group starts join it (up to <see cref="MaxRounds"/>), taken one at a time
/// between rounds; rounds that queue while it runs wait for the next group, and it never waits for rounds that are not
/// there. A round marked to go ahead (<see cref="SqliteWriteTurn.GoAhead"/>: a diagnosis's result, which someone waits to
/// see) is the exception: it is taken next, whenever it queued, and the group then commits without the rest, which wait
/// for the next group in their order — so it waits for the round under way, not for a group of up to fifty. (Growing the group while it ran, for its
/// first 25 ms, halved the 5,000-pod storm's p99 too but cost the 1,000-pod storm 10–30 % at p99 in a quiet A/B:
/// the rounds already in the group waited for the late ones.)
/// On PostgreSQL every statement is a round trip, so the savepoints cost none of their own: SAVEPOINT is sent with the
/// round's first command (Npgsql prepends it), and a kept round's savepoint is not released (RELEASE would be a round trip;
/// the savepoints stay nested until the commit ends them all; a group holds at most <see cref="MaxRounds"/>). Only a
/// failed round costs one, its ROLLBACK TO SAVEPOINT. The group holds every round's subject lock until its commit, so a
/// round after the first only tries its locks (<see cref="TransactionLock"/>): a lock or row held elsewhere fails it with
/// <see cref="TransactionLockBusyException"/>, and its caller runs it alone. Only a transaction's first round waits for a
/// lock, when the transaction holds nothing: two replicas' groups never wait on each other in a circle.
/// </summary>
internal sealed class TransactionGroup
{
    /// <summary>Rounds in one transaction at most: a round of a storm is a few milliseconds of statements.</summary>
    public const int MaxRounds = 50;

    private const string Savepoint = "round";

    /// <summary>What <see cref="DbTransaction.SaveAsync"/> and <see cref="DbTransaction.ReleaseAsync"/> send on SQLite.</summary>
    private const string SaveSql = "SAVEPOINT \"round\"";

    private const string ReleaseSql = "RELEASE SAVEPOINT \"round\"";

    private readonly BotDatabase _database;
    private readonly SqliteWriteTurn _turn;
    private readonly List<SharedRound> _rounds = [];
    private readonly List<SharedRound> _ran = [];

    private TransactionGroup(BotDatabase database, SqliteWriteTurn turn)
    {
        _database = database;
        _turn = turn;
    }

    /// <summary>
    /// Runs <paramref name="first"/> (the round of the caller that holds the turn) and the rounds it can claim in one
    /// transaction; every round's outcome is set when this returns. With <paramref name="claimOthers"/> false (the caller
    /// did not get a turn of its own: a write inside a write), it runs alone.
    /// </summary>
    /// <param name="onlyAhead">The leader was marked to go ahead: it takes along only rounds queued ahead too.</param>
    public static Task RunAsync(BotDatabase database, SqliteWriteTurn turn, SharedRound first, bool claimOthers, bool onlyAhead) =>
        new TransactionGroup(database, turn).RunAsync(first, claimOthers, onlyAhead);

    private async Task RunAsync(SharedRound first, bool claimOthers, bool onlyAhead)
    {
        _rounds.Add(first);
        try
        {
            // The shared parts run to their end: the callers of the claimed rounds wait for them, not only the leader.
            using var traced = BotDatabase.Tracing.StartActivity("TRANSACTION", ActivityKind.Internal);
            await using var connection = await _database.OpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var transaction = await _database.Dialect.BeginAsync(connection, CancellationToken.None).ConfigureAwait(false);
            // Rounds are taken one at a time between rounds: up to as many as were queued in order when the transaction
            // began, and any round marked to go ahead (a diagnosis's result) next, whenever it queued; after one of those
            // the transaction commits without taking more of the others, so its caller waits for the round under way, not
            // for a whole group of intake rounds.
            var inOrderLeft = claimOthers && !onlyAhead ? _turn.RoundsQueuedInOrder(MaxRounds - 1) : 0;
            for (var i = 0; i < _rounds.Count; i++)
            {
                await RunInSavepointAsync(connection, transaction, _rounds[i], othersHeld: i > 0).ConfigureAwait(false);
                if (claimOthers && _rounds.Count < MaxRounds && _turn.ClaimNextRound(inOrderLeft > 0, out var ahead) is { } next)
                {
                    _rounds.Add(next);
                    inOrderLeft = ahead ? 0 : inOrderLeft - 1;
                }
            }

            traced?.SetTag("rounds", _rounds.Count);
            using (BotDatabase.Tracing.StartActivity("COMMIT", ActivityKind.Client))
            {
                await BotDatabase.CommitAsync(transaction, CancellationToken.None).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // handed to every round of the transaction, whose callers retry or report it
        catch (Exception e)
#pragma warning restore CA1031
        {
            _database.WriteFailed(e);

            _rounds.ForEach(r => r.Failed(e));
            return;
        }

        _database.WriteSucceeded();
        _ran.ForEach(r => r.Committed());
    }

    /// <summary>
    /// Runs one round inside a savepoint: kept when it returns, rolled back (and answered with its exception) when it throws.
    /// Throws only when the transaction itself is lost (the rollback to the savepoint failed): then with the round's error,
    /// which says why (a full disk, say), rather than the savepoint's.
    /// </summary>
    /// <param name="othersHeld">Earlier rounds ran in this transaction: this one's locks are only tried.</param>
    private async Task RunInSavepointAsync(DbConnection connection, DbTransaction transaction, SharedRound round, bool othersHeld)
    {
        var roundTrips = _database.Dialect.CommandsAreRoundTrips;
        await SaveAsync(connection, transaction).ConfigureAwait(false); // PostgreSQL: sent with the round's first command
        try
        {
            TransactionLock.MustNotWait = othersHeld; // this method's flow and the round's, not the caller's
            await round.RunAsync(connection, transaction).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the round's own failure: handed to its caller, who retries or reports it as after a transaction of its own
        catch (Exception e)
#pragma warning restore CA1031
        {
            try
            {
                await transaction.RollbackAsync(Savepoint).ConfigureAwait(false);
                if (!roundTrips)
                {
                    await transaction.ReleaseAsync(Savepoint).ConfigureAwait(false);
                }
            }
#pragma warning disable CA1031 // whatever the rollback throws (a broken connection need not be a DbException), the round's error says why
            catch (Exception)
#pragma warning restore CA1031
            {
                ExceptionDispatchInfo.Throw(e); // the transaction is lost (SQLite rolled it back, the server went away): every round gets why
            }

            _database.WriteFailed(e);

            round.Failed(othersHeld && _database.Dialect.IsLockWaitRefused(e) ? new TransactionLockBusyException(e) : e);
            return;
        }

        if (!roundTrips)
        {
            await ReleaseAsync(connection, transaction).ConfigureAwait(false);
        }

        _ran.Add(round);
    }

    /// <summary>
    /// Starts the round's savepoint: on SQLite with the connection's prepared statement (<see cref="SqlitePreparedStatements"/>:
    /// the transaction's own <c>Save</c> prepares its text again for every round), elsewhere as the transaction sends it.
    /// </summary>
    private static Task SaveAsync(DbConnection connection, DbTransaction transaction)
    {
        if (connection is SqliteConnection sqlite)
        {
            SqliteIndexedStatement.Execute(sqlite, SaveSql, []);
            return Task.CompletedTask;
        }

        return transaction.SaveAsync(Savepoint);
    }

    /// <summary>Keeps what the round wrote in the transaction (on SQLite with the connection's prepared statement).</summary>
    private static Task ReleaseAsync(DbConnection connection, DbTransaction transaction)
    {
        if (connection is SqliteConnection sqlite)
        {
            SqliteIndexedStatement.Execute(sqlite, ReleaseSql, []);
            return Task.CompletedTask;
        }

        return transaction.ReleaseAsync(Savepoint);
    }
}

/// <summary>
/// One caller's write offered to a shared transaction (<see cref="TransactionGroup"/>): run by whichever caller holds the
/// write turn, its outcome set once that transaction committed or failed.
/// </summary>
internal abstract class SharedRound
{
    /// <summary>Taken into another caller's transaction (set by <see cref="SqliteWriteTurn.ClaimWaitingRounds"/>).</summary>
    public bool Claimed { get; set; }

    public abstract Task RunAsync(DbConnection connection, DbTransaction transaction);

    /// <summary>The transaction that holds the round committed: its caller gets its result.</summary>
    public abstract void Committed();

    /// <summary>The round, or the transaction that held it, failed: nothing of it is stored. Only the first outcome counts.</summary>
    public abstract void Failed(Exception exception);
}

internal sealed class SharedRound<T>(Func<DbConnection, DbTransaction, Task<T>> work) : SharedRound
{
    private readonly TaskCompletionSource<T> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private T? _result;

    public Task<T> Outcome => _outcome.Task;

    public override async Task RunAsync(DbConnection connection, DbTransaction transaction) =>
        _result = await work(connection, transaction).ConfigureAwait(false);

    public override void Committed() => _outcome.TrySetResult(_result!);

    public override void Failed(Exception exception) => _outcome.TrySetException(exception);
}
