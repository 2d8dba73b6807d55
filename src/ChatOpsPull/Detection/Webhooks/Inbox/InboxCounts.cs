namespace ChatOpsPull.Detection.Webhooks.Inbox;

/// <summary>
/// What the alert inbox's appends have cost so far (<see cref="AlertInbox.Counts"/>; for the load driver and diagnostics):
/// counts, and where the requests' wait for their commit went, each phase summed over the requests that waited through
/// it (a request waits for its round's phases, so a round of ten adds ten times its phase).
/// </summary>
/// <param name="Requests">Requests answered after their rows committed.</param>
/// <param name="Commits">Inbox transactions committed (a round: the requests that arrived while the one before was written).</param>
/// <param name="Rows">Inbox rows inserted.</param>
/// <param name="Queued">From handing the rows over to their round starting: waiting for the rounds under way.</param>
/// <param name="TurnAndBegin">From the round starting (or the request arriving, when it came later: on SQLite a round takes
/// the requests waiting once it holds the write turn) to its first statement: the write turn (on SQLite held by the drain
/// or another writer), a pooled connection, BEGIN.</param>
/// <param name="Write">The round's INSERT statements and their commit (on PostgreSQL one round trip), and handing the turn on.</param>
/// <param name="LongestTurnWait">The longest a round waited for the turn, its connection and BEGIN (since the process started).</param>
public sealed record InboxCounts(long Requests, long Commits, long Rows, TimeSpan Queued, TimeSpan TurnAndBegin, TimeSpan Write, TimeSpan LongestTurnWait)
{
    public static InboxCounts operator -(InboxCounts a, InboxCounts b) => new(
        a.Requests - b.Requests,
        a.Commits - b.Commits,
        a.Rows - b.Rows,
        a.Queued - b.Queued,
        a.TurnAndBegin - b.TurnAndBegin,
        a.Write - b.Write,
        a.LongestTurnWait);
}

/// <summary>When an inbox round reached each phase (<see cref="TimeProvider.GetTimestamp"/>).</summary>
internal sealed class RoundPhases(long began)
{
    public long Began { get; } = began;

    public long InTransaction { get; set; }
}

/// <summary>Sums <see cref="InboxCounts"/> as rounds commit (one writer at a time, read from anywhere).</summary>
internal sealed class AppendCounter(TimeProvider time)
{
    private readonly Lock _lock = new();
    private InboxCounts _counts = new(0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public InboxCounts Snapshot()
    {
        lock (_lock)
        {
            return _counts;
        }
    }

    /// <param name="queuedAt">When each request of the round handed its rows over.</param>
    public void Committed(int requests, int rows, RoundPhases phases, IEnumerable<long> queuedAt, long committed)
    {
        var turn = time.GetElapsedTime(phases.Began, phases.InTransaction);
        var write = time.GetElapsedTime(phases.InTransaction, committed);
        long queuedTicks = 0, turnTicks = 0;
        foreach (var queued in queuedAt)
        {
            queuedTicks += Math.Max(0, phases.Began - queued);
            turnTicks += phases.InTransaction - Math.Max(phases.Began, queued);
        }

        var queuedTime = TimeSpan.FromSeconds(queuedTicks / (double)time.TimestampFrequency);
        var turnTime = TimeSpan.FromSeconds(turnTicks / (double)time.TimestampFrequency);
        lock (_lock)
        {
            var c = _counts;
            _counts = new InboxCounts(
                c.Requests + requests,
                c.Commits + 1,
                c.Rows + rows,
                c.Queued + queuedTime,
                c.TurnAndBegin + turnTime,
                c.Write + (write * requests),
                turn > c.LongestTurnWait ? turn : c.LongestTurnWait);
        }
    }
}
