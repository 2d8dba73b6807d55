using System.Net;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.Webhooks.Inbox;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static ChatOpsPull.Tests.Alerts.WebhookCalls;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>
/// The alert inbox with the real incident engine and its SQLite file: a 200 means the alerts are stored, and they reach
/// their incidents even when the bot stops before applying them, once and only once.
/// </summary>
public sealed class AlertInboxTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("chatopspull-inbox-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp directory is left behind.
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task Alerts_accepted_by_a_bot_that_stops_before_applying_them_reach_their_incident_when_the_next_bot_starts()
    {
        const string ns = "inbox-crash";
        var body = Message(Alert("firing", PullLabels(ns, "api-1")), Alert("firing", PullLabels(ns, "api-2")), Alert("firing", PullLabels(ns, "api-3"))).ToJsonString();

        // The first bot stores the alerts and answers 200, but its engine never takes them (it is "down" until the bot stops).
        await using (var first = await StartAsync(services => services.Replace(ServiceDescriptor.Singleton<IPullFailureSink>(new EngineThatCannotWrite()))))
        {
            using var client = new HttpClient { BaseAddress = first.BaseAddress };
            using var response = await client.SendAsync(AlertmanagerRequest(body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(1, await first.Get<AlertInbox>().CountAsync());
        }

        // The next bot on the same database applies what the first one left, at start, without a new request.
        await using var second = await StartAsync();
        var store = second.Get<IncidentStore>();
        var incidents = await Eventually.ValueAsync(
            () => store.ListOpenAsync(@namespace: ns),
            open => open.Sum(i => i.Pods.Count) == 3,
            "the alerts left in the inbox to reach their incident");
        Assert.Single(incidents);
        Assert.Equal(["api-1", "api-2", "api-3"], incidents[0].Pods.Select(p => p.Pod).Order());
        Assert.Equal(0, await second.Get<AlertInbox>().CountAsync());
    }

    [Fact]
    public async Task The_same_payload_delivered_twice_and_again_after_a_restart_makes_one_incident_with_each_pod_once()
    {
        const string ns = "inbox-twice";
        var body = Message(Alert("firing", PullLabels(ns, "web-1"), fingerprint: "00000000000a11ce"), Alert("firing", PullLabels(ns, "web-2"), fingerprint: "00000000000b0b00")).ToJsonString();

        await using (var first = await StartAsync())
        {
            using var client = first.CreateClient();
            using (var response = await client.SendAsync(AlertmanagerRequest(body)))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(2, (await ReceiptAsync(response)).GetProperty("reported").GetInt32());
            }

            using (var again = await client.SendAsync(AlertmanagerRequest(body)))
            {
                Assert.Equal(HttpStatusCode.OK, again.StatusCode);
                Assert.Equal(2, (await ReceiptAsync(again)).GetProperty("duplicates").GetInt32());
            }
        }

        // A restarted bot has forgotten the re-sends it saw: the payload goes through the inbox again, and the engine
        // (idempotent) changes nothing.
        await using var second = await StartAsync();
        using (var secondClient = second.CreateClient())
        using (var afterRestart = await secondClient.SendAsync(AlertmanagerRequest(body)))
        {
            Assert.Equal(HttpStatusCode.OK, afterRestart.StatusCode);
        }

        var all = await second.Get<IncidentStore>().ListOpenAsync(@namespace: ns);
        var incident = Assert.Single(all);
        Assert.Equal(["web-1", "web-2"], incident.Pods.Select(p => p.Pod).Order());
        Assert.Equal(0, await second.Get<AlertInbox>().CountAsync());
    }

    private Task<BotOnKestrel> StartAsync(Action<IServiceCollection>? services = null) =>
        BotOnKestrel.StartAsync(
            new Dictionary<string, string>
            {
                ["Bot:DataDirectory"] = _dataDirectory,
                ["Alerts:Alertmanager:BearerToken"] = AlertmanagerFixture.BearerToken,
                ["Kubernetes:WatchEnabled"] = "false",
            },
            services,
            recordPullFailures: false);

    /// <summary>An incident engine whose store refuses every write.</summary>
    private sealed class EngineThatCannotWrite : IPullFailureSink
    {
        public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken) => throw new InvalidOperationException("the incident store cannot write");

        public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the incident store cannot write");
    }
}
