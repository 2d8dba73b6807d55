using System.Data.Common;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;
using Polly.Registry;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// Writes the incidents of one subject (cluster/namespace/workload): serialized in process by a keyed lock and across
/// replicas by an advisory lock in the transaction (the unique open-key index is the last guard), tried again through a
/// named resilience pipeline when it loses a race, and — once committed, still under the subject lock — followed by its
/// <see cref="AfterCommit"/> work: metrics, storm roll-ups, diagnosis requests, and its news posted in commit order
/// (owed in the store in the same transaction, so that a crash before it is told loses nothing).
/// The news is delivered after the lock is released, so a slow chat platform never holds up the next write.
/// On SQLite the transaction may be shared with other subjects' writes queued for the write turn
/// (<see cref="BotDatabase.InSharedTransactionAsync{T}"/>), each in its own savepoint: a write that fails or loses a race
/// is rolled back and tried again alone, and the after-commit work runs only once the shared commit succeeded.
/// </summary>
internal sealed partial class SubjectWriter(
    IncidentStore store,
    StormRollup storms,
    IncidentNewsDispatch news,
    IDiagnosisScheduler diagnosisScheduler,
    ResiliencePipelineProvider<string> pipelines,
    BotMetrics metrics,
    TimeProvider time,
    ILogger<SubjectWriter> logger) : IDisposable
{
    private readonly KeyedLock _subjectLocks = new();

    public static string LockName(string cluster, string @namespace, string subject) => $"incident:{cluster}/{@namespace}/{subject}";

    /// <param name="pipeline">One of <see cref="IncidentRetryPipelines"/>: which failures count as a lost race.</param>
    /// <param name="write">Runs inside the transaction (again on each try, with a fresh <see cref="AfterCommit"/>), after the subject lock is taken.</param>
    /// <param name="changed">Whether the result changed anything; when not, its after-commit work is dropped. Null: always run it.</param>
    public Task<T> WriteAsync<T>(
        string subjectLock,
        string pipeline,
        Func<DbConnection, DbTransaction, AfterCommit, Task<T>> write,
        CancellationToken cancellationToken,
        Func<T, bool>? changed = null) =>
        WriteTakingLockAsync(
            subjectLock,
            pipeline,
            async (connection, transaction, afterCommit, pending) =>
            {
                await pending.TakeAsync(connection, transaction).ConfigureAwait(false);
                return await write(connection, transaction, afterCommit).ConfigureAwait(false);
            },
            cancellationToken,
            changed);

    /// <summary>
    /// The same, but the subject lock across replicas is taken by <paramref name="write"/>'s first read, in that read's round
    /// trip (<see cref="TransactionLock"/>): a write whose first statement is its own read saves a round trip on PostgreSQL.
    /// A write that sends no statement taking it fails (nothing is committed).
    /// </summary>
    public async Task<T> WriteTakingLockAsync<T>(
        string subjectLock,
        string pipeline,
        Func<DbConnection, DbTransaction, AfterCommit, TransactionLock, Task<T>> write,
        CancellationToken cancellationToken,
        Func<T, bool>? changed = null)
    {
        var database = store.Database;
        IReadOnlyList<IncidentMailbox> posted;
        T result;
        IDisposable held;
        using (DiagnosisStageTimes.Measure(DiagnosisStage.SubjectLock))
        using (database.WriteTurn.PullAhead(subjectLock)) // a diagnosis's write waiting here pulls the holder's turn ahead
        {
            held = await _subjectLocks.AcquireAsync(subjectLock, cancellationToken).ConfigureAwait(false);
        }

        using (held)
        using (database.WriteTurn.WritingFor(subjectLock))
        {
            AfterCommit? afterCommit = null;
            result = await pipelines.GetPipeline(pipeline).ExecuteAsync(
                async token => await database.InSharedTransactionAsync(
                    async (connection, transaction) =>
                    {
                        afterCommit = new AfterCommit(time.GetUtcNow());
                        var pending = database.PendingLock(subjectLock);
                        var written = await write(connection, transaction, afterCommit, pending).ConfigureAwait(false);
                        if (!pending.Taken)
                        {
                            throw new InvalidOperationException($"A write of {subjectLock} sent no statement that took its subject lock; nothing was committed.");
                        }

                        await afterCommit.OweNewsAsync(connection, transaction).ConfigureAwait(false); // what the write did not owe in its own batches
                        return written;
                    },
                    token).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
            posted = afterCommit is null || changed?.Invoke(result) == false ? [] : await RunAfterCommitAsync(afterCommit, cancellationToken).ConfigureAwait(false);
        }

        await news.DeliverAsync(posted, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public void Dispose() => _subjectLocks.Dispose();

    private async Task<IReadOnlyList<IncidentMailbox>> RunAfterCommitAsync(AfterCommit afterCommit, CancellationToken cancellationToken)
    {
        afterCommit.Record(metrics);
        foreach (var incident in afterCommit.StormChecks)
        {
            try
            {
                await storms.RollUpAsync(incident, afterCommit, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && StorageFaults.IsUnavailable(e))
            {
                // The write is committed: its news must still be posted (an opened incident's card) rather than lost
                // with the storm check. The next incident of the same image and cause checks the storm again.
                LogStormCheckFailed(logger, incident.Id, StorageFaults.Describe(e));
            }
        }

        foreach (var (incidentId, version) in afterCommit.Diagnoses)
        {
            try
            {
                await diagnosisScheduler.EnqueueAsync(incidentId, version, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the incident is stored; a failed enqueue is logged and re-diagnosis can be asked for
            catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
            {
                LogEnqueueFailed(logger, e, incidentId);
            }
        }

        return news.Post(afterCommit.NoticesInCommitOrder());
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The storm check after incident {IncidentId} was stored could not read or write the store ({Error}); its news is told without it")]
    private static partial void LogStormCheckFailed(ILogger logger, string incidentId, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not enqueue the diagnosis of incident {IncidentId}; it can be asked for again")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, string incidentId);
}
