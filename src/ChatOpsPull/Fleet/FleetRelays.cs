using System.Security.Cryptography;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Fleet;

/// <summary>A question relayed to a cluster's bot: what to look at, and until when the asker waits.</summary>
public sealed record FleetRelay(string Id, string Cluster, string Namespace, string Subject, DateTimeOffset ExpiresAt);

/// <summary>
/// Questions for another cluster's bot, kept in the shared database (<c>fleet_relays</c>): the asking bot writes one and
/// enqueues a job on the cluster's queue with its id (never its content), the cluster's bot answers into the row, the
/// asking bot reads the answer. The answer is opaque text to this layer (the chat layer's reply as JSON).
/// </summary>
public sealed class FleetRelays(BotDatabase database, TimeProvider time)
{
    /// <summary>Rows asked longer ago than this are removed when a new question is written.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(1);

    public async Task<FleetRelay> AskAsync(string cluster, string ns, string subject, TimeSpan patience, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var relay = new FleetRelay("rel-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), cluster, ns, subject, now + patience);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "INSERT INTO fleet_relays (id, cluster, namespace, subject, asked_at, expires_at) VALUES (@Id, @Cluster, @Namespace, @Subject, @now, @expires)",
            new { relay.Id, relay.Cluster, relay.Namespace, relay.Subject, now = BotDatabase.ToDb(now), expires = BotDatabase.ToDb(relay.ExpiresAt) }).ConfigureAwait(false);
        await connection.ExecuteAsync("DELETE FROM fleet_relays WHERE asked_at < @before", new { before = BotDatabase.ToDb(now - Retention) }).ConfigureAwait(false);
        return relay;
    }

    /// <summary>The question, or null when it is unknown, already answered, or its asker has stopped waiting.</summary>
    public async Task<FleetRelay?> OpenQuestionAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<(string Id, string Cluster, string Namespace, string Subject, long ExpiresAt)?>(
            "SELECT id, cluster, namespace, subject, expires_at FROM fleet_relays WHERE id = @id AND answer IS NULL AND expires_at > @now",
            new { id, now = BotDatabase.ToDb(time.GetUtcNow()) }).ConfigureAwait(false);
        return row is { } r ? new FleetRelay(r.Id, r.Cluster, r.Namespace, r.Subject, BotDatabase.FromDb(r.ExpiresAt)) : null;
    }

    /// <summary>Stores the answer once; false when the question was answered already or is unknown.</summary>
    public async Task<bool> AnswerAsync(string id, string answer, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(
            "UPDATE fleet_relays SET answer = @answer, answered_at = @now WHERE id = @id AND answer IS NULL",
            new { id, answer, now = BotDatabase.ToDb(time.GetUtcNow()) }).ConfigureAwait(false) == 1;
    }

    /// <summary>Waits for the answer until the question's time is up; null when none came.</summary>
    public async Task<string?> WaitForAnswerAsync(FleetRelay relay, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        while (true)
        {
            await using (var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false))
            {
                var answer = await connection.QuerySingleOrDefaultAsync<string?>("SELECT answer FROM fleet_relays WHERE id = @id", new { id = relay.Id }).ConfigureAwait(false);
                if (answer is not null)
                {
                    return answer;
                }
            }

            if (time.GetUtcNow() >= relay.ExpiresAt)
            {
                return null;
            }

            await Task.Delay(pollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
