using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Approvals;

/// <summary>
/// A storm in Slack: three workloads fail on one image and roll up under the first one's card. A fix asked for,
/// approved and run on a rolled-up workload is told in the thread of the storm's card (the parent's), not in the
/// thread of the card the workload had before the storm was recognised.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class StormThreadTests(RegistryFixture registry)
{
    [Fact]
    public async Task A_fix_on_a_rolled_up_workload_is_told_in_the_thread_of_the_storms_card()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        slack.RatePerSecond = 50;
        slack.Burst = 50;
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new()
        {
            ["Slack:SigningSecret"] = "e3b0c44298fc1c149afbf4c8996fb924",
            ["Slack:BotToken"] = FakeSlackServer.BotToken,
            ["Slack:ApiBaseUrl"] = slack.ApiUrl.ToString(),
            ["Routing:DefaultSlackChannel"] = "C0SHOP",
            ["Outbox:MessageInterval"] = "00:00:00.020",
            ["Outbox:PollInterval"] = "00:00:00.100",
            ["Incidents:RollupThreshold"] = "3",
        });
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        var incidents = new Dictionary<string, Incident>();
        foreach (var workload in new[] { "api", "web", "worker" })
        {
            bed.SeedFailingDeployment(workload, image);
            incidents[workload] = await bed.OpenIncidentAsync(workload, image, Facts.TagMissing(["1.4.2"]));
        }

        var store = bed.Get<IncidentStore>();
        var web = (await store.GetAsync(incidents["web"].Id))!;
        var parentId = incidents["api"].Id;
        Assert.Equal(parentId, web.RollupOf);
        var parentTs = await CardTsAsync(slack, "shop/deployment/api");
        var webTs = await CardTsAsync(slack, "shop/deployment/web"); // web had its own card before the storm

        var plan = Facts.Plan(web, RemediationKind.SetImageTag);
        await bed.ClickAsync(People.Alice, CardVerb.Request, web.Id, plan.Key);
        var approvalId = await bed.PendingIdAsync(web.Id, RemediationKind.SetImageTag);
        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        bed.Api.MarkPodsReady("shop", "app=web");
        Assert.Equal(RunStatus.Succeeded, (await bed.WaitForRunAsync(approvalId)).Run.Status);

        var asked = await ReplyAsync(slack, "shop/deployment/web: alice asked to run \"Set tag to 1.4.2\"");
        var approved = await ReplyAsync(slack, "shop/deployment/web: bob approved \"Set tag to 1.4.2\"");
        var worked = await ReplyAsync(slack, "shop/deployment/web: \"Set tag to 1.4.2\" worked");
        Assert.All([asked, approved, worked], reply => Assert.Equal(parentTs, reply.Body["thread_ts"]!.GetValue<string>()));
        Assert.Equal(IncidentState.Resolved, (await store.GetAsync(web.Id))!.State);

        var ownThread = slack.CallsTo("chat.postMessage").Where(c => c.Ok && c.Body["thread_ts"]?.GetValue<string>() == webTs).Select(Text).ToList();
        Assert.Contains(ownThread, t => t.Contains($"rolled up under {parentId}", StringComparison.Ordinal));
        Assert.DoesNotContain(ownThread, t => t.Contains("Set tag to 1.4.2", StringComparison.Ordinal));
        Assert.Single(slack.CallsTo("chat.postMessage"), c => c.Ok && c.Body["thread_ts"] is null && Text(c).Contains("shop/deployment/api (", StringComparison.Ordinal));
    }

    private static string Text(FakeSlackCall call) => call.Body["text"]?.GetValue<string>() ?? string.Empty;

    /// <summary>The ts of the card (a top-level post) whose fallback text names the workload.</summary>
    private static async Task<string> CardTsAsync(FakeSlackServer slack, string workload)
    {
        bool IsCard(FakeSlackCall c) => c.Method == "chat.postMessage" && c.Ok && c.Body["thread_ts"] is null && Text(c).Contains($"{workload} (", StringComparison.Ordinal);
        await slack.WaitUntilAsync(calls => calls.Any(IsCard), TimeSpan.FromSeconds(20), $"the card of {workload}");
        return slack.Calls.First(IsCard).Ts!;
    }

    /// <summary>The first thread reply whose text starts with <paramref name="start"/> (and contains <paramref name="also"/>).</summary>
    private static async Task<FakeSlackCall> ReplyAsync(FakeSlackServer slack, string start, string also = "")
    {
        bool IsReply(FakeSlackCall c) => c.Method == "chat.postMessage" && c.Ok && c.Body["thread_ts"] is not null
            && Text(c).StartsWith(start, StringComparison.Ordinal) && Text(c).Contains(also, StringComparison.Ordinal);
        await slack.WaitUntilAsync(calls => calls.Any(IsReply), TimeSpan.FromSeconds(20), $"a thread reply \"{start}…{also}\"");
        return slack.Calls.First(IsReply);
    }
}
