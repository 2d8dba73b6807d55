using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Detection.Webhooks.Inbox;

/// <summary>
/// Applies the alert inbox to the incident engine: at start (what a crash or an outage left there) and whenever the
/// webhooks append, in batches in the order accepted. A batch is applied by subject, each subject's rows in one round
/// that also removes them (<see cref="ISubjectReportSink"/>): the rows gone are exactly the alerts applied, so nothing is
/// applied twice after a crash (a fire-then-resolve pair cannot reopen and resolve again). The subjects of a batch are
/// applied at once, in waves of <see cref="DefaultSubjectsAtOnce"/>: their rounds queue for the write turns together and
/// share transactions (each round in its own savepoint, one commit), instead of one transaction after another.
/// On PostgreSQL a batch leaves out the rows another replica is applying (<c>FOR UPDATE SKIP LOCKED</c>), so replicas do
/// not drain the same rows. A batch is bounded by rows (<see cref="BatchRows"/>) and by time (<see cref="BatchTime"/>: no
/// new wave is started after it). When the engine cannot write, the rows stay and are tried again with back-off.
/// While webhook requests are waiting for their answer (<see cref="AcceptPressure"/>), the drain gives way before each
/// wave, and a wave is then one subject; on SQLite, while requests come (one waits, or one began since the drain last
/// looked), one inbox row of one subject (a request's inbox round waits for the write turn a wave holds: one row's
/// incident writes, not every row of the subject in the batch). It gives way for twice as long as the wave before took (<see cref="YieldFactor"/>, at least
/// <see cref="YieldSlice"/>, at most <see cref="MaxYield"/>), or until no request came for a slice. A storm is answered
/// first (an answer waits for the inbox's commit, and on SQLite for the write lock the drain holds) and applied as fast
/// as the drain can once it is over; while it lasts the drain keeps a third of the time, so it is never starved.
/// </summary>
public sealed partial class AlertInboxDrain : BackgroundService
{
    /// <summary>Rows applied together (a request holds up to a few hundred alerts).</summary>
    public const int BatchRows = 256;

    /// <summary>After this long a batch starts no further wave of subjects; the rest waits for the next batch.</summary>
    public static readonly TimeSpan BatchTime = TimeSpan.FromMilliseconds(500);

    /// <summary>While requests wait, the drain pauses this many times as long as its last wave of subjects took.</summary>
    public const int YieldFactor = 2;

    /// <summary>The step in which a pause looks whether requests still come (and the shortest pause).</summary>
    public static readonly TimeSpan YieldSlice = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest pause after one wave of subjects.</summary>
    public static readonly TimeSpan MaxYield = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Subjects of a batch applied at once (a wave): each its own round in the engine, and the rounds that queue together
    /// for the write turns share transactions (<see cref="Storage.TransactionGroup"/>: up to fifty rounds, one commit).
    /// Applied one after another, every subject was a transaction of its own, about eight round trips in a row with
    /// PostgreSQL idle in between: the drain was bound by round-trip latency, not by work.
    /// </summary>
    public const int DefaultSubjectsAtOnce = 64;

    /// <summary>How often the inbox is looked at without being woken (rows another replica accepted).</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(5);

    private readonly AlertInbox _inbox;
    private readonly IPullFailureSink _sink;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertInboxDrain> _logger;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private long _yields;
    private TimeSpan _lastTransaction;
    private long _batches;
    private long _subjectRounds;
    private long _rowsApplied;
    private long _beforeClaimTicks;
    private long _subjectTicks;
    private long _wavesWhileWaiting;
    private long _wavesWhileWaitingTicks;
    private long _longestWaveWhileWaitingTicks;
    private long _requestsSeen;

    public AlertInboxDrain(AlertInbox inbox, IPullFailureSink sink, TimeProvider time, ILogger<AlertInboxDrain> logger)
    {
        _inbox = inbox;
        _sink = sink;
        _time = time;
        _logger = logger;
        _requestsSeen = inbox.Accepting.Started;
        _inbox.Appended += Wake;
    }

    /// <summary>Subjects of a batch applied at once (<see cref="DefaultSubjectsAtOnce"/>; tests set fewer).</summary>
    internal int SubjectsAtOnce { get; init; } = DefaultSubjectsAtOnce;

    /// <summary>Pauses the drain made for waiting requests (for tests and diagnostics).</summary>
    public long Yields => Interlocked.Read(ref _yields);

    /// <summary>
    /// What the drain has done so far (for the load driver and diagnostics; counts, not timings of a core): batches read,
    /// subject rounds (calls into the engine, each its rows' claim, apply and removal, in a transaction it may share with
    /// other subjects' rounds; a retried attempt counts once), inbox rows applied, and the rounds' time: from asking the
    /// engine to the claim's command (the subject lock in process, the write turn, a pooled connection) and in all.
    /// </summary>
    public DrainCounts Counts => new(
        Interlocked.Read(ref _batches),
        Interlocked.Read(ref _subjectRounds),
        Interlocked.Read(ref _rowsApplied),
        TimeSpan.FromTicks(Interlocked.Read(ref _beforeClaimTicks)),
        TimeSpan.FromTicks(Interlocked.Read(ref _subjectTicks)),
        Interlocked.Read(ref _wavesWhileWaiting),
        TimeSpan.FromTicks(Interlocked.Read(ref _wavesWhileWaitingTicks)),
        TimeSpan.FromTicks(Interlocked.Read(ref _longestWaveWhileWaitingTicks)));

    public override void Dispose()
    {
        _inbox.Appended -= Wake;
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            int applied;
            try
            {
                applied = await ApplyBatchAsync(stoppingToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the rows stay in the inbox and are tried again
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(250 * Math.Pow(2, failures - 1), 10_000));
                LogApplyFailed(_logger, e, delay.TotalSeconds);
                await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
                continue;
            }

            if (applied == 0)
            {
                await _wake.WaitAsync(Poll, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <returns>Rows applied and removed (or found taken by another replica).</returns>
    internal async Task<int> ApplyBatchAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var entries = await _inbox.OldestAsync(BatchRows, alertsOfEveryRow: _sink is not ISubjectReportSink, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0)
        {
            return 0;
        }

        Interlocked.Increment(ref _batches);

        // A row of no one subject (written before rows were split by subject), or a sink that cannot take a subject
        // in its own transaction: applied, then removed.
        var mixed = entries.ToList().FindIndex(e => e.Subject is null);
        if (_sink is not ISubjectReportSink subjects || mixed == 0)
        {
            var taken = _sink is ISubjectReportSink ? entries.Take(1).ToList() : entries;
            await AlertDelivery.ApplyAsync([.. taken.SelectMany(e => e.Alerts)], _sink, cancellationToken).ConfigureAwait(false);
            await _inbox.RemoveAsync([.. taken.Select(e => e.Id)], cancellationToken).ConfigureAwait(false);
            return taken.Count;
        }

        var applied = 0;
        var yielded = TimeSpan.Zero; // not the batch's time: a batch that gave way still applies its share of subjects
        var bySubject = entries.Take(mixed < 0 ? entries.Count : mixed).GroupBy(e => e.Subject!, StringComparer.Ordinal)
            .Select(g => (Subject: g.Key, Rows: new Queue<InboxEntry>(g))).ToList();
        for (var next = 0; next < bySubject.Count;)
        {
            if (applied > 0 && _time.GetElapsedTime(started) - yielded >= BatchTime)
            {
                break;
            }

            yielded += await YieldToRequestsAsync(cancellationToken).ConfigureAwait(false);
            List<(string Subject, IReadOnlyList<InboxEntry> Rows)> wave;
            var sharesTurn = _inbox.SharesWriteTurnWithDrain;
            var requestsWaiting = sharesTurn ? RequestsArriving() : _inbox.Accepting.InFlight > 0;
            if (requestsWaiting && sharesTurn)
            {
                // SQLite, while requests come (one waits for its answer, or one began since the drain last looked: a
                // request that arrives during a wave waits for it, for the write turn the wave holds): one row of one
                // subject, each followed by a pause twice as long while one waits. The requests keep two thirds of the
                // time, and one waiting for the turn waits for one row's incident writes, not for all its subject's rows
                // of the batch nor for a wave of many subjects. Looking only at the requests waiting at that instant,
                // most waves under a steady load were of 64 subjects (right after a commit the next requests were still
                // being read) and a request waited 15-24 ms for the turn, up to 276 ms.
                var (subject, rows) = bySubject[next];
                wave = [(subject, [rows.Dequeue()])];
                next += rows.Count == 0 ? 1 : 0;
            }
            else
            {
                // PostgreSQL, while a request waits: one subject (inbox rounds take no turn there; the drain gives way
                // for the cores, and a wave of many subjects would outlast the longest pause). Otherwise a wave of many.
                wave = [.. bySubject.Skip(next).Take(requestsWaiting ? 1 : SubjectsAtOnce).Select(s => (s.Subject, (IReadOnlyList<InboxEntry>)[.. s.Rows]))];
                next += wave.Count;
            }

            var waveStarted = _time.GetTimestamp();
            // Every subject of the wave asks the engine at once: their rounds queue for the write turns together, and the
            // caller handed a turn takes the others queued behind it into its transaction, one commit for many subjects.
            var outcomes = await Task.WhenAll(wave.Select(subject => ApplySubjectAsync(subjects, subject.Subject, subject.Rows, cancellationToken))).ConfigureAwait(false);
            applied += outcomes.Sum();
            _lastTransaction = _time.GetElapsedTime(waveStarted);
            if (requestsWaiting)
            {
                CountWaveWhileWaiting(_lastTransaction);
            }
        }

        return applied;
    }

    /// <summary>
    /// Applies one subject's rows of the batch in the subject's transaction (or sets them aside when their subject cannot be
    /// read). Throws when the engine could not write: the rows stay for the next batch; the wave's other subjects go on.
    /// </summary>
    /// <param name="rows">The subject's rows of the batch to apply (with any older row of the subject still in the inbox).</param>
    /// <returns>The rows applied.</returns>
    private async Task<int> ApplySubjectAsync(ISubjectReportSink subjects, string subject, IReadOnlyList<InboxEntry> rows, CancellationToken cancellationToken)
    {
        // Off the caller's flow at once: every subject of the wave queues for a write turn before the first one handed a
        // turn looks which rounds are queued behind it (SQLite's calls complete synchronously: without this, each subject
        // would run to its commit before the next one even asked).
        await Task.Yield();
        var subjectStarted = _time.GetTimestamp();
        var lastId = rows.Max(e => e.Id);
        // The subject's cluster and namespace from its key (neither holds a '/'): its rows are read, once, in the claim,
        // where a row that cannot be read is set aside instead of failing the subject again and again.
        var parts = subject.Split('/', 3);
        if (parts.Length < 3)
        {
            await _inbox.QuarantineAsync([.. rows.Select(e => e.Id)], "the row's subject is not cluster/namespace/subject", cancellationToken).ConfigureAwait(false);
            LogQuarantined(_logger, rows.Count, subject, "the row's subject is not cluster/namespace/subject");
            return rows.Count;
        }

        var quarantined = new List<QuarantinedRow>();
        long? claimed = null;
        await subjects.ApplySubjectAsync(
            parts[0],
            parts[1],
            parts[2],
            (connection, transaction, subjectLock) =>
            {
                claimed ??= _time.GetTimestamp();
                return AlertInbox.ClaimAsync(connection, transaction, subjectLock, subject, lastId, _time.GetUtcNow(), quarantined);
            },
            cancellationToken).ConfigureAwait(false);
        foreach (var row in quarantined)
        {
            LogQuarantinedRow(_logger, row.Id, row.Subject, row.Reason);
        }

        Interlocked.Increment(ref _subjectRounds);
        Interlocked.Add(ref _rowsApplied, rows.Count);
        Interlocked.Add(ref _beforeClaimTicks, _time.GetElapsedTime(subjectStarted, claimed ?? subjectStarted).Ticks);
        Interlocked.Add(ref _subjectTicks, _time.GetElapsedTime(subjectStarted).Ticks);
        return rows.Count;
    }

    /// <summary>
    /// When webhook requests are waiting for their answer, pauses for <see cref="YieldFactor"/> times the last wave of
    /// subjects (within <see cref="YieldSlice"/> and <see cref="MaxYield"/>), ending early once a slice passes with no
    /// request waiting and none begun.
    /// </summary>
    /// <returns>How long it paused.</returns>
    private async Task<TimeSpan> YieldToRequestsAsync(CancellationToken cancellationToken)
    {
        var pressure = _inbox.Accepting;
        if (pressure.InFlight == 0)
        {
            return TimeSpan.Zero;
        }

        Interlocked.Increment(ref _yields);
        var pause = TimeSpan.FromTicks(Math.Clamp(_lastTransaction.Ticks * YieldFactor, YieldSlice.Ticks, MaxYield.Ticks));
        var from = _time.GetTimestamp();
        while (_time.GetElapsedTime(from) < pause)
        {
            var started = pressure.Started;
            await Task.Delay(YieldSlice, _time, cancellationToken).ConfigureAwait(false);
            if (pressure.InFlight == 0 && pressure.Started == started)
            {
                break;
            }
        }

        return _time.GetElapsedTime(from);
    }

    /// <summary>Whether a request waits for its answer, or one began since the drain last asked.</summary>
    private bool RequestsArriving()
    {
        var pressure = _inbox.Accepting;
        var started = pressure.Started;
        var arrived = started != Interlocked.Exchange(ref _requestsSeen, started);
        return arrived || pressure.InFlight > 0;
    }

    private void CountWaveWhileWaiting(TimeSpan took)
    {
        Interlocked.Increment(ref _wavesWhileWaiting);
        Interlocked.Add(ref _wavesWhileWaitingTicks, took.Ticks);
        var longest = Interlocked.Read(ref _longestWaveWhileWaitingTicks);
        while (took.Ticks > longest && Interlocked.CompareExchange(ref _longestWaveWhileWaitingTicks, took.Ticks, longest) != longest)
        {
            longest = Interlocked.Read(ref _longestWaveWhileWaitingTicks);
        }
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // already woken
        }
        catch (ObjectDisposedException)
        {
            // stopping
        }
    }

    [LoggerMessage(EventId = 4105, Level = LogLevel.Error, Message = "Alert inbox row {RowId} of subject {Subject} could not be read and was moved to alert_inbox_quarantine instead of being applied: {Reason}")]
    private static partial void LogQuarantinedRow(ILogger logger, long rowId, string subject, string reason);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Error, Message = "{Rows} alert inbox rows of subject {Subject} were moved to alert_inbox_quarantine instead of being applied: {Reason}")]
    private static partial void LogQuarantined(ILogger logger, int rows, string subject, string reason);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "The alert inbox could not be applied to the incident engine; its alerts stay there and are tried again in {Seconds} s")]
    private static partial void LogApplyFailed(ILogger logger, Exception exception, double seconds);
}

/// <summary>What <see cref="AlertInboxDrain"/> has done so far (<see cref="AlertInboxDrain.Counts"/>).</summary>
/// <param name="RowsApplied">Rows the batches named, applied (the claims may take a subject's older rows a batch passed over too).</param>
/// <param name="BeforeClaim">From asking the engine to the claim's command: the subject lock in process, the write turn, a connection.</param>
/// <param name="InSubjects">From asking the engine to its answer, in all.</param>
/// <param name="WavesWhileRequestsWait">Waves begun while webhook requests came (one waited for its inbox commit, or one
/// began since the wave before): one row each; on SQLite each holds the write turn those requests' inbox round may wait for.</param>
/// <param name="WaveTimeWhileRequestsWait">Those waves' time, in all.</param>
/// <param name="LongestWaveWhileRequestsWait">The longest of them (since the process started).</param>
public sealed record DrainCounts(
    long Batches,
    long SubjectRounds,
    long RowsApplied,
    TimeSpan BeforeClaim,
    TimeSpan InSubjects,
    long WavesWhileRequestsWait,
    TimeSpan WaveTimeWhileRequestsWait,
    TimeSpan LongestWaveWhileRequestsWait)
{
    public static DrainCounts operator -(DrainCounts a, DrainCounts b) =>
        new(
            a.Batches - b.Batches,
            a.SubjectRounds - b.SubjectRounds,
            a.RowsApplied - b.RowsApplied,
            a.BeforeClaim - b.BeforeClaim,
            a.InSubjects - b.InSubjects,
            a.WavesWhileRequestsWait - b.WavesWhileRequestsWait,
            a.WaveTimeWhileRequestsWait - b.WaveTimeWhileRequestsWait,
            a.LongestWaveWhileRequestsWait);
}
