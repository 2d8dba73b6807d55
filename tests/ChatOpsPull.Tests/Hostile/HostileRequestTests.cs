using System.Net;
using System.Text;

namespace ChatOpsPull.Tests.Hostile;

/// <summary>
/// Every hostile request in <see cref="HostileCases"/> against the real host: the documented status, a body that says
/// why, and nothing changed (every table of the bot's database, the calls to Slack and to the Bot Connector).
/// </summary>
[Collection(HostileGroup.Name)]
public sealed class HostileRequestTests(HostileFixture fixture)
{
    [Theory]
    [MemberData(nameof(HostileCases.Names), MemberType = typeof(HostileCases))]
    public async Task A_hostile_request_gets_its_answer_and_changes_nothing(string name)
    {
        var hostile = HostileCases.Named(name);
        var before = await fixture.DrainedStateAsync();

        var (status, body) = await SendAsync(hostile);

        Assert.True(hostile.Status == status, $"{name}: expected {hostile.Status}, got {status}: {body}");
        if (Environment.GetEnvironmentVariable("CHATOPSPULL_HOSTILE_REPORT") is { Length: > 0 } report)
        {
            // A table of every case and its answer, for the README and reviews.
            await File.AppendAllTextAsync(report, $"| `{name}` | `{hostile.Endpoint}` | {status} | {body.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal)} |\n");
        }

        Assert.Contains(hostile.Answer, body, StringComparison.Ordinal);
        Assert.Equal(before, await fixture.DrainedStateAsync());
    }

    [Fact]
    public async Task A_replayed_slack_event_is_acknowledged_and_processed_once()
    {
        var eventId = "Ev0REPLAY" + Guid.NewGuid().ToString("N");
        var body = HostileCases.Utf8("""{"type":"event_callback","team_id":"T0HOSTILE","api_app_id":"A0HOSTILE","event_id":"EVENT","event_time":1732520000,"event":{"type":"app_mention","user":"U0MALLORY","text":"<@U0BOT> help","channel":"C0HOSTILE","ts":"1732520000.000100"}}""".Replace("EVENT", eventId, StringComparison.Ordinal));
        var ts = HostileFixture.Now();
        var first = await SendRawAsync(() => HostileCases.Slack("/slack/events", body, "application/json", timestamp: ts));
        var afterFirst = await fixture.DrainedStateAsync(); // the first delivery's answer goes out through the outbox in the background

        var replay = await SendRawAsync(() => HostileCases.Slack("/slack/events", body, "application/json", timestamp: ts));

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, replay.Status);
        Assert.Equal(afterFirst, await fixture.DrainedStateAsync());
    }

    [Fact]
    public async Task A_signed_command_for_another_slash_command_gets_help_not_silence()
    {
        var form = HostileCases.Utf8($"team_id=T0HOSTILE&channel_id=C0HOSTILE&user_id=U0MALLORY&command=%2Fdeploy&text=status&response_url={Uri.EscapeDataString(fixture.Slack.NewResponseUrl())}");
        var before = await fixture.DrainedStateAsync();

        var (status, body) = await SendRawAsync(() => HostileCases.Slack("/slack/commands", form, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("I only answer", body, StringComparison.Ordinal); // the JSON encoder writes the backticks as \u0060
        Assert.Equal(before, await fixture.DrainedStateAsync());
    }

    [Fact]
    public async Task A_signed_command_whose_name_holds_a_nul_is_refused_as_malformed()
    {
        var form = HostileCases.Utf8($"team_id=T0HOSTILE&channel_id=C0HOSTILE&user_id=U0MALLORY&command=%2Fpullbot%00&text=status&response_url={Uri.EscapeDataString(fixture.Slack.NewResponseUrl())}");
        var before = await fixture.DrainedStateAsync();

        var (status, body) = await SendRawAsync(() => HostileCases.Slack("/slack/commands", form, "application/x-www-form-urlencoded"));

        Assert.True(status == HttpStatusCode.BadRequest, $"expected 400, got {status}: {body}");
        Assert.StartsWith("Malformed Slack request:", body, StringComparison.Ordinal);
        Assert.Equal(before, await fixture.DrainedStateAsync());
    }

    [Fact]
    public async Task A_signed_command_with_bidi_and_zero_width_characters_is_answered()
    {
        var form = HostileCases.Command("\u202Esutats\u200B \u2066diagnose\u2069 ../../etc/passwd");

        var (status, body) = await SendRawAsync(() => HostileCases.Slack("/slack/commands", form, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEmpty(body);
        Assert.DoesNotContain("/etc/passwd:", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bounded_flood_of_forged_requests_is_refused_and_the_bot_stays_healthy()
    {
        const int requests = 600;
        var before = await fixture.DrainedStateAsync();
        var forged = new Func<HttpRequestMessage>[]
        {
            () => HostileCases.Slack("/slack/commands", HostileCases.Command("status"), "application/x-www-form-urlencoded", secret: "forged-forged-forged"),
            () => HostileCases.Alert("/alerts", HostileCases.Utf8(HostileCases.GenericBody("flood")), "application/json", bearer: "forged-token-forged-token"),
            () => HostileCases.Alert("/alerts/alertmanager", HostileCases.Utf8(HostileCases.AlertmanagerBody("flood")), "application/json", hmacSecret: "forged-secret-forged-secret"),
        };
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        var started = System.Diagnostics.Stopwatch.StartNew();

        await Parallel.ForAsync(0, requests, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            using var request = forged[i % forged.Length]();
            using var response = await fixture.Client.SendAsync(request, ct);
            statuses.Add(response.StatusCode);
        });

        Assert.Equal(requests, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(120), $"the flood took {started.Elapsed}");
        Assert.Equal(before, await fixture.DrainedStateAsync());
        using var health = await fixture.Client.GetAsync(HostileCases.Relative("/healthz"));
        using var ready = await fixture.Client.GetAsync(HostileCases.Relative("/readyz"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task No_configured_secret_appears_in_any_log_line()
    {
        foreach (var hostile in HostileCases.All)
        {
            await SendAsync(hostile);
        }

        // Accepted requests too: a signed command and a Teams message from a trusted Bot Connector.
        await SendRawAsync(() => HostileCases.Slack("/slack/commands", HostileCases.Command("status \u202Eevil\u200B"), "application/x-www-form-urlencoded"));
        await SendRawAsync(() => HostileCases.Teams(fixture, HostileCases.Activity(fixture), spec: new ChatOpsPull.Tests.Teams.FakeConnector.TokenSpec()));
        await Drained.WaitAsync(fixture.Host.Services); // the answers' deliveries log too

        var lines = fixture.Logs.Lines.ToList();
        // The refusals themselves are logged (so the scan reads what a request left behind), just never a secret.
        Assert.Contains(lines, l => l.Contains("Refused Slack request", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("ChatOpsPull.Detection.Webhooks", StringComparison.Ordinal));
        var leaks = fixture.Secrets
            .SelectMany(secret => lines.Where(l => l.Contains(secret.Value, StringComparison.Ordinal)).Select(l => $"{secret.What}: {l}"))
            .ToList();
        Assert.True(leaks.Count == 0, "Secrets in log lines:\n" + string.Join('\n', leaks.Take(10)));
    }

    private async Task<(int Status, string Body)> SendAsync(HostileCase hostile)
    {
        var (status, body) = await SendRawAsync(() => hostile.Request(fixture));
        return ((int)status, body);
    }

    private async Task<(HttpStatusCode Status, string Body)> SendRawAsync(Func<HttpRequestMessage> build)
    {
        using var request = build();
        using var response = await fixture.Client.SendAsync(request);
        return (response.StatusCode, Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync()));
    }
}
