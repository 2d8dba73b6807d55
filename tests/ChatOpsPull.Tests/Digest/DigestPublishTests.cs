using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Digest;
using ChatOpsPull.Storage;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ChatOpsPull.Chat.Digest;

namespace ChatOpsPull.Tests.Digest;

/// <summary>Posting digests: Slack through the real outbox to the fake Slack (card, then the chart uploaded into its thread), Teams with the chart inside the card.</summary>
public sealed class DigestPublishTests
{
    private static Dictionary<string, string?> SlackSettings(FakeSlackServer slack) => new()
    {
        ["Slack:SigningSecret"] = "e3b0c44298fc1c149afbf4c8996fb924",
        ["Slack:BotToken"] = FakeSlackServer.BotToken,
        ["Slack:ApiBaseUrl"] = slack.ApiUrl.ToString(),
        ["Outbox:MessageInterval"] = "00:00:00.050",
        ["Outbox:PollInterval"] = "00:00:00.200",
        ["Outbox:BaseBackoff"] = "00:00:00.100",
        ["Outbox:MaxBackoff"] = "00:00:01",
    };

    [Fact]
    public async Task Slack_digest_is_posted_and_its_chart_uploaded_into_the_cards_thread()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(
            storage,
            DigestHosts.Merge(SlackSettings(slack), DigestHosts.Schedule(0, "Slack", "C0DIGEST")),
            DigestHosts.WithoutCluster());
        await new DigestSeed(DateTimeOffset.UtcNow).WriteAsync(host.Services.GetRequiredService<BotDatabase>());

        var reply = await host.Services.GetRequiredService<IDigestPublisher>().PublishNowAsync(ChatPlatform.Slack, "C0DIGEST", CancellationToken.None);

        Assert.Equal("Digest posted for prod-eu, last 7 days.", reply.Text);
        await slack.WaitUntilAsync(calls => calls.Any(c => c.Method == "files.completeUploadExternal" && c.Ok), TimeSpan.FromSeconds(20), "the chart upload completed");
        var post = Assert.Single(slack.CallsTo("chat.postMessage"), c => c.Ok);
        Assert.Equal("C0DIGEST", post.Channel);
        Assert.StartsWith("🔴 Pull digest: prod-eu, last 7 days", post.Body["blocks"]![0]!["text"]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var reserve = Assert.Single(slack.CallsTo("files.getUploadURLExternal"));
        Assert.StartsWith("Line chart of image pull time per registry", reserve.Body["alt_txt"]!.GetValue<string>(), StringComparison.Ordinal);

        var file = Assert.Single(slack.Files);
        Assert.Equal(("C0DIGEST", post.Ts), (file.Channel, file.ThreadTs));
        Assert.Equal(file.DeclaredLength, file.Bytes!.Length);
        Assert.Equal((DigestChart.SlackWidth, DigestChart.SlackHeight), Png.Size(file.Bytes));
        var onDisk = Path.Combine(storage.DataDirectory, DigestChart.DirectoryName, file.Filename);
        Assert.Equal(await File.ReadAllBytesAsync(onDisk), file.Bytes);
        Assert.StartsWith("Image pull time per registry", file.Title, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Posting_the_same_period_again_updates_the_card_and_does_not_upload_the_chart_twice()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(
            storage,
            DigestHosts.Merge(SlackSettings(slack), DigestHosts.Schedule(0, "Slack", "C0DIGEST")),
            DigestHosts.WithoutCluster());
        var to = DateTimeOffset.UtcNow;
        await new DigestSeed(to).WriteAsync(host.Services.GetRequiredService<BotDatabase>());
        var publisher = host.Services.GetRequiredService<DigestPublisher>();
        var schedule = publisher.FindSchedule(ChatPlatform.Slack, "C0DIGEST")!;

        var first = await publisher.PublishAsync(schedule, to, CancellationToken.None);
        await slack.WaitUntilAsync(calls => calls.Any(c => c.Method == "files.completeUploadExternal" && c.Ok), TimeSpan.FromSeconds(20), "the first upload");
        var second = await publisher.PublishAsync(schedule, to, CancellationToken.None);
        await slack.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.update" && c.Ok), TimeSpan.FromSeconds(20), "the card update");

        Assert.Equal(first.Card.Key, second.Card.Key);
        Assert.Equal(first.ChartFile, second.ChartFile);
        Assert.Single(slack.CallsTo("chat.postMessage"));
        Assert.Single(slack.Files);
        var runs = await host.Services.GetRequiredService<DigestRuns>().ListAsync(schedule.Id, CancellationToken.None);
        Assert.Equal(Path.GetFileName(first.ChartFile), Assert.Single(runs).ChartFile);
    }

    [Fact]
    public async Task Nothing_to_say_is_one_line_and_no_chart()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(
            storage,
            DigestHosts.Merge(SlackSettings(slack), DigestHosts.Schedule(0, "Slack", "C0QUIET", ns: "quiet", period: "24h")),
            DigestHosts.WithoutCluster());

        var reply = await host.Services.GetRequiredService<IDigestPublisher>().PublishNowAsync(ChatPlatform.Slack, "C0QUIET", CancellationToken.None);

        Assert.Equal("Digest posted: Nothing to report for prod-eu, namespace quiet in the last 24 h: no pull failures, no waiting approvals.", reply.Text);
        await slack.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage" && c.Ok), TimeSpan.FromSeconds(20), "the one-line digest");
        var post = Assert.Single(slack.CallsTo("chat.postMessage"));
        var blocks = post.Body["blocks"]!.AsArray();
        Assert.Single(blocks);
        Assert.Equal("🟢 Nothing to report for prod-eu, namespace quiet in the last 24 h: no pull failures, no waiting approvals.", blocks[0]!["text"]!["text"]!.GetValue<string>());
        await Drained.WaitAsync(host.Services);
        Assert.Empty(slack.CallsTo("files.getUploadURLExternal"));
    }

    [Fact]
    public async Task A_channel_without_a_schedule_is_told_so_and_nothing_is_sent()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(storage, DigestHosts.Merge(SlackSettings(slack), DigestHosts.Schedule(0, "Slack", "C0DIGEST")), DigestHosts.WithoutCluster());

        var reply = await host.Services.GetRequiredService<IDigestPublisher>().PublishNowAsync(ChatPlatform.Slack, "C0OTHER", CancellationToken.None);

        Assert.True(reply.Ephemeral);
        Assert.StartsWith("This channel has no digest schedule", reply.Text, StringComparison.Ordinal);
        await Drained.WaitAsync(host.Services);
        Assert.Empty(slack.Calls);
    }

    [Fact]
    public async Task Upload_refused_by_Slack_is_recorded_as_failed_with_Slacks_error()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(storage, DigestHosts.Merge(SlackSettings(slack), DigestHosts.Schedule(0, "Slack", "C0GONE")), DigestHosts.WithoutCluster());
        await new DigestSeed(DateTimeOffset.UtcNow).WriteAsync(host.Services.GetRequiredService<BotDatabase>());
        slack.MissingChannels["C0GONE"] = true;

        await host.Services.GetRequiredService<IDigestPublisher>().PublishNowAsync(ChatPlatform.Slack, "C0GONE", CancellationToken.None);

        await slack.WaitUntilAsync(calls => calls.Any(c => c.Method == "files.completeUploadExternal"), TimeSpan.FromSeconds(20), "the upload attempt");
        var complete = Assert.Single(slack.CallsTo("files.completeUploadExternal"));
        Assert.Equal("channel_not_found", complete.Error);
        Assert.DoesNotContain(slack.Files, f => f.Completed);
    }

    [Fact]
    public async Task Teams_digest_shows_the_chart_inline_when_it_fits_and_by_URL_from_the_bot_otherwise()
    {
        using var storage = TestStorage.Sqlite();
        var surface = new RecordingSurface(ChatPlatform.Teams);
        await using var host = DigestHosts.Start(
            storage,
            DigestHosts.Merge(DigestHosts.Schedule(0, "Teams", "19:ops@thread.tacv2"), new() { ["Digest:PublicBaseUrl"] = "https://pullbot.example.com/" }),
            DigestHosts.WithoutCluster(more: s =>
            {
                s.RemoveAll<IChatSurface>();
                s.AddSingleton<IChatSurface>(surface);
            }));
        await new DigestSeed(DateTimeOffset.UtcNow).WriteAsync(host.Services.GetRequiredService<BotDatabase>());

        await host.Services.GetRequiredService<IDigestPublisher>().PublishNowAsync(ChatPlatform.Teams, "19:ops@thread.tacv2", CancellationToken.None);

        var (channel, card) = Assert.Single(surface.Published);
        Assert.Equal("19:ops@thread.tacv2", channel);
        var url = card.Image!.Url!;
        var rendered = AdaptiveCardRenderer.Render(card, CardView.Everyone);
        Assert.True(AdaptiveCardRenderer.Utf16Bytes(rendered) <= AdaptiveCardRenderer.MaxCardUtf16Bytes);
        var image = rendered["body"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "Image")!;
        Assert.Equal(url, image["url"]!.GetValue<string>());
        Assert.StartsWith("Line chart of image pull time", image["altText"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("Incidents", rendered.ToJsonString(), StringComparison.Ordinal);

        byte[] png;
        if (url.StartsWith("data:", StringComparison.Ordinal))
        {
            Assert.StartsWith("data:image/png;base64,", url, StringComparison.Ordinal);
            png = Convert.FromBase64String(url["data:image/png;base64,".Length..]);
        }
        else
        {
            Assert.StartsWith("https://pullbot.example.com/digest/charts/", url, StringComparison.Ordinal);
            var served = await host.CreateClient().GetAsync(new Uri(new Uri(url).AbsolutePath, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            png = await served.Content.ReadAsByteArrayAsync();
            var inline = card with { Image = card.Image with { Url = "data:image/png;base64," + Convert.ToBase64String(png) } };
            Assert.True(AdaptiveCardRenderer.Utf16Bytes(AdaptiveCardRenderer.Render(inline with { Image = null }, CardView.Everyone)) + (inline.Image!.Url!.Length * 2) > AdaptiveCardRenderer.MaxCardUtf16Bytes - 512, "the chart was sent by URL although it would have fit inline");
        }

        Assert.Equal((DigestChart.TeamsWidth, DigestChart.TeamsHeight), Png.Size(png));
    }

    [Fact]
    public async Task Chart_endpoint_serves_only_existing_chart_names()
    {
        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(storage, DigestHosts.Merge(DigestHosts.Schedule(0, "Slack", "C0DIGEST")), DigestHosts.WithoutCluster());
        var to = DateTimeOffset.UtcNow;
        await new DigestSeed(to).WriteAsync(host.Services.GetRequiredService<BotDatabase>());
        var schedule = host.Services.GetRequiredService<DigestPublisher>().FindSchedule(ChatPlatform.Slack, "C0DIGEST")!;
        var report = await host.Services.GetRequiredService<DigestBuilder>().BuildAsync(schedule, to, CancellationToken.None);
        var path = await host.Services.GetRequiredService<DigestChart>().SaveAsync(report, 560, 260, CancellationToken.None);
        var client = host.CreateClient();

        var ok = await client.GetAsync(new Uri("/digest/charts/" + Path.GetFileName(path), UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("image/png", ok.Content.Headers.ContentType!.MediaType);
        Assert.Equal(await File.ReadAllBytesAsync(path!), await ok.Content.ReadAsByteArrayAsync());

        foreach (var name in new[] { "0123456789abcdef0123456789abcdef.png", Path.GetFileName(path)!.ToUpperInvariant(), "..%2Fchatopspull.db", "chatopspull.db", "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd" })
        {
            var refused = await client.GetAsync(new Uri("/digest/charts/" + name, UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.Contains("No such chart.", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Cluster_scan_finds_latest_tags_Always_on_immutable_and_an_ECR_token_about_to_expire()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        const string ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        var expires = DateTimeOffset.UtcNow.AddHours(5);
        var ecrPassword = Convert.ToBase64String(Encoding.UTF8.GetBytes($$"""{"payload":"AAAA","datakey":"BBBB","version":"2","type":"DATA_KEY","expiration":{{expires.ToUnixTimeSeconds()}}}"""));
        var dockerConfig = new JsonObject { ["auths"] = new JsonObject { [ecr] = new JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("AWS:" + ecrPassword)) } } };
        api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = "ecr-pull", ["namespace"] = "shop" },
            ["type"] = "kubernetes.io/dockerconfigjson",
            ["data"] = new JsonObject { [".dockerconfigjson"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(dockerConfig.ToJsonString())) },
        });
        api.Seed(Pod("web-6b9f7c5d8-aaaaa", "web-6b9f7c5d8", "6b9f7c5d8", ecr + "/shop/web:latest", "Always", "ecr-pull"));
        api.Seed(Pod("api-5f6d8c9b7-bbbbb", "api-5f6d8c9b7", "5f6d8c9b7", "ghcr.io/acme/api:1.4.2", "Always", null));
        api.Seed(Pod("api-5f6d8c9b7-ccccc", "api-5f6d8c9b7", "5f6d8c9b7", "ghcr.io/acme/api:1.4.2", "Always", null));
        using var storage = TestStorage.Sqlite();
        var settings = DigestHosts.Merge(
            DigestHosts.Schedule(0, "Slack", "C0DIGEST", period: "24h"),
            new() { ["Kubernetes:KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(storage.DataDirectory, "kube")), ["Digest:MaxRegistryChecks"] = "0" });
        await using var host = DigestHosts.Start(storage, settings, s => s.AddSingleton<ChatOpsPull.Approvals.IApprovalQueries>(new ListedApprovals()));
        var schedule = host.Services.GetRequiredService<IOptionsMonitor<DigestOptions>>().CurrentValue.Schedules[0];

        var report = await host.Services.GetRequiredService<DigestBuilder>().BuildAsync(schedule, DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.True(report.ClusterScanned);
        Assert.Equal(3, report.Cluster.Pods);
        Assert.Equal(["deployment/web"], report.Cluster.Workloads.FloatingTags.Select(f => f.Use.Workload));
        Assert.Equal(["deployment/api"], report.Cluster.Workloads.AlwaysOnImmutable.Select(f => f.Use.Workload));
        var credential = Assert.Single(report.Cluster.Credentials);
        Assert.Equal(("shop/ecr-pull", ecr, "Amazon ECR token", expires.ToUnixTimeSeconds()), (credential.Secret, credential.Registry, credential.Kind, credential.ExpiresAt.ToUnixTimeSeconds()));
        var card = DigestCardBuilder.Build(report, 5);
        Assert.Contains(card.Sections, s => s.Heading == "On :latest or no tag (pin a version or a digest)");
        Assert.Contains(card.Sections.Single(s => s.Heading == "Pull secrets").Lines, l => l.Text.StartsWith($"secret shop/ecr-pull for {ecr}: Amazon ECR token expires in 4 h 59 min", StringComparison.Ordinal));
        Assert.DoesNotContain(ecrPassword, card.ToString(), StringComparison.Ordinal);
    }

    private static JsonObject Pod(string name, string replicaSet, string hash, string image, string pullPolicy, string? secret)
    {
        var spec = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = image, ["imagePullPolicy"] = pullPolicy }),
            ["nodeName"] = "worker-1",
        };
        if (secret is not null)
        {
            spec["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = secret });
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = "shop",
                ["uid"] = Guid.NewGuid().ToString(),
                ["labels"] = new JsonObject { ["pod-template-hash"] = hash },
                ["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "ReplicaSet", ["name"] = replicaSet, ["uid"] = Guid.NewGuid().ToString(), ["controller"] = true }),
            },
            ["spec"] = spec,
            ["status"] = new JsonObject { ["phase"] = "Running" },
        };
    }
}
