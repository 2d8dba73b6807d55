namespace ChatOpsPull.Chat.Outbox;

/// <summary>
/// When the outbox removes delivered rows older than Outbox:KeepDelivered (and the once keys with them): every
/// <see cref="Interval"/>, the first one an interval after the host started. Not at once: when every host was down longer
/// than Outbox:KeepDelivered, the news they owed is retold first (within Incidents:NewsRetellGrace), while the delivered
/// lines' once keys still say those lines were sent; a purge at start would forget the keys and let the retell post the
/// lines again.
/// </summary>
internal sealed class PurgeSchedule(long startedAtMs)
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    private long _lastMs = startedAtMs;

    /// <summary>Whether a purge is due at <paramref name="nowMs"/> (Unix milliseconds).</summary>
    public bool Due(long nowMs) => nowMs - _lastMs >= (long)Interval.TotalMilliseconds;

    public void Purged(long nowMs) => _lastMs = nowMs;
}
