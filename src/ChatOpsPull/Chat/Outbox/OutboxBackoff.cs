namespace ChatOpsPull.Chat.Outbox;

/// <summary>Exponential backoff with jitter for transient send errors.</summary>
public static class OutboxBackoff
{
    /// <param name="attempt">1 for the first failed attempt.</param>
    /// <param name="jitter">A number in [0, 1): spreads retries of many messages over ±20 %.</param>
    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay, double jitter)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var raw = baseDelay.TotalMilliseconds * Math.Pow(2, exponent);
        var capped = Math.Min(raw, maxDelay.TotalMilliseconds);
        var spread = 0.8 + (0.4 * Math.Clamp(jitter, 0, 1));
        return TimeSpan.FromMilliseconds(Math.Min(capped * spread, maxDelay.TotalMilliseconds));
    }
}
