using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Remembers event ids (Events API) and envelope ids (Socket Mode) so a retry or redelivery is never processed twice,
/// across restarts and replicas. Ids expire after <see cref="SlackOptions.SeenEventRetention"/>.
/// </summary>
public sealed class SlackSeenEvents(BotDatabase database, SqliteWriteGate gate, IOptionsMonitor<SlackOptions> options, TimeProvider time)
{
    private long _lastPurge;

    /// <returns>True the first time <paramref name="id"/> is seen; false for a repeat.</returns>
    public async Task<bool> TryMarkSeenAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var expires = now + (long)options.CurrentValue.SeenEventRetention.TotalMilliseconds;
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var previous = Interlocked.Read(ref _lastPurge);
        if (now - previous > 60_000 && Interlocked.CompareExchange(ref _lastPurge, now, previous) == previous)
        {
            await connection.ExecuteAsync("DELETE FROM slack_seen_events WHERE expires_at < @now", new { now }).ConfigureAwait(false);
        }

        var inserted = await connection.ExecuteAsync(
            "INSERT INTO slack_seen_events (id, seen_at, expires_at) VALUES (@id, @now, @expires) ON CONFLICT (id) DO NOTHING",
            new { id = id.Length <= 200 ? id : id[..200], now, expires }).ConfigureAwait(false);
        if (inserted == 1)
        {
            return true;
        }

        // Seen before; an expired entry counts as new (and is renewed).
        var renewed = await connection.ExecuteAsync(
            "UPDATE slack_seen_events SET seen_at = @now, expires_at = @expires WHERE id = @id AND expires_at < @now",
            new { id = id.Length <= 200 ? id : id[..200], now, expires }).ConfigureAwait(false);
        return renewed == 1;
    }
}
