using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Slack.FakeSlack;

/// <summary>Which connection took an envelope, after how many attempts, and the acknowledgement it sent.</summary>
public sealed record FakeSocketDelivery(FakeSocketConnection Connection, int Attempts, JsonObject Ack);

/// <summary>
/// Socket Mode as Slack runs it for an app with several open connections (up to 10 per app): each envelope goes to one
/// connection picked at random, not to all of them; an envelope not acknowledged in time is sent again, to any open
/// connection, with <c>retry_attempt</c> counting up and <c>retry_reason</c> "timeout", up to three retries.
/// </summary>
public sealed partial class FakeSlackServer
{
    /// <summary>Retries after the first delivery of an unacknowledged envelope (Slack's Events API retries three times).</summary>
    public const int SocketRetries = 3;

    private readonly object _randomLock = new();
    private Random _random = new(19);

    /// <summary>How long an envelope waits for its ack before Slack sends it again (Slack: 3 seconds).</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The connections the app holds open now.</summary>
    public IReadOnlyList<FakeSocketConnection> OpenSockets => _sockets.Where(s => s.IsOpen).ToList();

    /// <summary>Seeds the choice of connection, so a failing run can be repeated.</summary>
    public void SeedDelivery(int seed)
    {
        lock (_randomLock)
        {
            _random = new Random(seed);
        }
    }

    /// <summary>Waits until the app holds <paramref name="count"/> open connections (each bot opens one).</summary>
    public Task<IReadOnlyList<FakeSocketConnection>> WaitForOpenSocketsAsync(int count, TimeSpan timeout) =>
        Eventually.ValueAsync(
            () => Task.FromResult(OpenSockets),
            open => open.Count >= count,
            $"{count} open Socket Mode connection(s)",
            timeout,
            open => $"{open.Count} open; calls:\n" + string.Join("\n", Calls.Select(c => $"{c.Method} {c.Status} {c.Error}")));

    /// <summary>
    /// Hands <paramref name="envelope"/> to a random open connection and waits for its ack; without one in
    /// <see cref="AckTimeout"/>, sends it again (same envelope_id, retry_attempt + 1, retry_reason "timeout") to a random open
    /// connection, at most <see cref="SocketRetries"/> times. An envelope that already carries a retry_attempt counts on from it
    /// (a test replaying Slack's retry of an envelope another connection took). <paramref name="avoid"/> is never picked while another is open
    /// (a test that must see the envelope land on a connection other than a given one).
    /// </summary>
    public async Task<FakeSocketDelivery> DeliverToAnyAsync(JsonObject envelope, FakeSocketConnection? avoid = null)
    {
        var envelopeId = envelope["envelope_id"]?.GetValue<string>() ?? throw new ArgumentException("a Socket Mode envelope has an envelope_id", nameof(envelope));
        var firstAttempt = envelope["retry_attempt"]?.GetValue<int>() ?? 0;
        for (var attempt = firstAttempt; attempt <= firstAttempt + SocketRetries; attempt++)
        {
            var open = OpenSockets.Where(s => s != avoid).ToList();
            if (open.Count == 0)
            {
                open = OpenSockets.ToList();
            }

            if (open.Count == 0)
            {
                throw new InvalidOperationException($"no open Socket Mode connection to deliver {envelopeId} to");
            }

            FakeSocketConnection connection;
            lock (_randomLock)
            {
                connection = open[_random.Next(open.Count)];
            }

            var copy = (JsonObject)envelope.DeepClone();
            copy["retry_attempt"] = attempt;
            if (attempt > 0)
            {
                copy["retry_reason"] = "timeout";
            }

            var before = connection.Acks.Count(a => a["envelope_id"]?.GetValue<string>() == envelopeId);
            await connection.SendAsync(copy);
            var (acked, acks) = await Eventually.WithinAsync(
                () => Task.FromResult(connection.Acks.Where(a => a["envelope_id"]?.GetValue<string>() == envelopeId).ToList()),
                acks => acks.Count > before,
                AckTimeout);
            if (acked)
            {
                return new FakeSocketDelivery(connection, attempt - firstAttempt + 1, acks[^1]);
            }

            // not acknowledged in time: Slack sends it again
        }

        throw new TimeoutException($"envelope {envelopeId} was not acknowledged after {SocketRetries + 1} deliveries");
    }
}
