using System.Diagnostics;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using ChatOpsPull.Remediation;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Fleet;

/// <summary>
/// The trust boundary between clusters, closed with signed decisions: the chat replica holds the fleet's decision key, each
/// cluster's bot only its own cluster's key. A compromised bot of prod-a, with the shared database and its own key, writes an
/// "approved" request and a run for prod-b and puts the job on prod-b's queue: prod-b's bot checks the approval where it
/// runs, refuses it, changes nothing, audits it and says why on the card. The genuine path (asked and approved on the chat
/// replica) still runs on prod-b.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class FleetDecisionSigningTests(PostgresFixture postgres)
{
    private const string Image = "registry.example.test/team/app:1.4.2";
    private const string FleetKey = "test-fleet-decision-key-0123456789abcdef";

    [Fact]
    public async Task Approval_forged_by_another_clusters_bot_is_refused_where_it_runs_and_the_genuine_one_still_runs()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        var a = await fleet.StartAsync("prod-a", settings: new() { ["Fleet:ClusterDecisionKey"] = ClusterKey("prod-a") });
        var b = await fleet.StartAsync("prod-b", settings: new() { ["Fleet:ClusterDecisionKey"] = ClusterKey("prod-b") });
        var chat = await fleet.StartAsync("chat", chatReplica: true, settings: new() { ["Fleet:DecisionKey"] = FleetKey });
        b.SeedFailingDeployment("api", Image, replicas: 1);
        var generation = RemediationBed.Generation(b.DeploymentObject("api"));
        var incident = await b.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-b");
        var plan = Facts.Plan(incident, RemediationKind.RestartWorkload);

        // prod-a's bot, compromised: an approved request for prod-b signed with the only key it has (its own), another with
        // no signature at all, each with its run row, and the jobs on prod-b's queue.
        var signedWithOwnKey = await ForgeAsync(a, incident, plan, DecisionKeys.Derive(FleetKey, "prod-a"));
        var unsigned = await ForgeAsync(a, incident, plan, key: null);

        var refused = await b.WaitForRunAsync(signedWithOwnKey);
        Assert.Equal(RunStatus.Failed, refused.Run.Status);
        Assert.Equal(
            RemediationProgress.Refused("its approval's decision signature does not verify with cluster prod-b's key: the approval was not recorded by a bot holding that key, or was changed since"),
            refused.Run.Detail);
        var bare = await b.WaitForRunAsync(unsigned);
        Assert.Equal(RunStatus.Failed, bare.Run.Status);
        Assert.Contains("its approval carries no decision signature, and cluster prod-b runs only signed decisions", bare.Run.Detail, StringComparison.Ordinal);

        // Nothing changed in prod-b; the refusals are audited; the card says why, wherever it is drawn.
        Assert.Equal(generation, RemediationBed.Generation(b.DeploymentObject("api")));
        Assert.Null(b.DeploymentObject("api")["spec"]!["template"]!["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"]);
        Assert.Empty(Writes(b.Api));
        var audit = await chat.Get<AuditLog>().ForApprovalAsync(signedWithOwnKey);
        var line = Assert.Single(audit, e => e.Action == RemediationAuditActions.JobRefused);
        Assert.Equal(AuditOutcome.Refused, line.Outcome);
        Assert.DoesNotContain(audit, e => e.Action == RemediationAuditActions.JobStarted);
        var card = await chat.Get<IncidentCardPublisher>().BuildAsync((await chat.Get<IncidentStore>().GetAsync(incident.Id))!, CancellationToken.None);
        var runLine = Assert.Single(card.Sections.Single(s => s.Heading == "Remediation").Lines, l => l.Text.Contains("does not verify", StringComparison.Ordinal));
        Assert.Contains("failed — refused before acting: its approval's decision signature does not verify with cluster prod-b's key", runLine.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("approved by", runLine.Text, StringComparison.Ordinal); // the forged votes are not repeated
        Assert.EndsWith("Nothing was changed", runLine.Text, StringComparison.Ordinal);

        // prod-a's bot cannot record an approval for prod-b either: it holds no key for it.
        var asked = await chat.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);
        await Eventually.ValueAsync(() => chat.Get<ApprovalStore>().GetAsync(approvalId), r => r is not null && !ApprovalWorkflow.DryRunIsWaiting(r), "prod-b's bot to make the dry run");
        var onA = await a.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        Assert.Contains("This bot holds no decision key for cluster prod-b", onA.Text, StringComparison.Ordinal);
        Assert.Equal(ApprovalStatus.Pending, (await chat.Get<ApprovalStore>().GetAsync(approvalId))!.Status);

        // The genuine path: approved on the chat replica, signed with prod-b's key, run on prod-b.
        var approved = await chat.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        Assert.Contains("Running it now.", approved.Text, StringComparison.Ordinal);
        await b.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        b.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var run = await b.WaitForRunAsync(approvalId);
        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Equal(generation + 1, RemediationBed.Generation(b.DeploymentObject("api")));
        var (request, signature) = (await chat.Get<ApprovalStore>().GetSignedAsync(approvalId)).GetValueOrDefault();
        Assert.True(DecisionSignature.Verifies(DecisionKeys.Derive(FleetKey, "prod-b"), request, signature));
        Assert.False(DecisionSignature.Verifies(DecisionKeys.Derive(FleetKey, "prod-a"), request, signature));
    }

    [Fact]
    public async Task Approved_row_changed_after_signing_is_refused_and_a_cluster_bot_signs_its_own_clusters_approvals()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        var b = await fleet.StartAsync("prod-b", settings: new() { ["Fleet:ClusterDecisionKey"] = ClusterKey("prod-b") });
        b.SeedFailingDeployment("api", Image, replicas: 1);
        var incident = await b.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-b");
        var plan = Facts.Plan(incident, RemediationKind.RestartWorkload);
        var generation = RemediationBed.Generation(b.DeploymentObject("api"));

        // A genuine approval for prod-b signed with prod-b's key, then the run row's plan swapped for another workload's
        // before the job runs (the job is put on the queue by hand, as a compromised bot would).
        var forged = await ForgeAsync(b, incident, plan, DecisionKeys.Derive(FleetKey, "prod-b"), runPlan: plan with { WorkloadName = "payments" }, enqueue: false);
        b.Get<ClusterJobs>().Enqueue<RemediationJob>("prod-b", job => job.RunAsync(forged, CancellationToken.None));
        var refused = await b.WaitForRunAsync(forged);
        Assert.Equal(RunStatus.Failed, refused.Run.Status);
        Assert.Contains($"the run's plan is not the one approved in {forged}", refused.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(generation, RemediationBed.Generation(b.DeploymentObject("api")));

        // prod-b's own bot may approve prod-b's fixes: it signs with its key, and the fix runs.
        var asked = await b.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);
        var approved = await b.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        Assert.Contains("Running it now.", approved.Text, StringComparison.Ordinal);
        await b.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        b.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        Assert.Equal(RunStatus.Succeeded, (await b.WaitForRunAsync(approvalId)).Run.Status);
    }

    [Fact]
    public async Task Cluster_key_is_the_one_openssl_derives_from_the_fleet_key()
    {
        var start = new ProcessStartInfo("openssl", ["dgst", "-sha256", "-hmac", FleetKey])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        using var openssl = Process.Start(start)!;
        await openssl.StandardInput.WriteAsync("chatopspull decision key for cluster prod-eu");
        openssl.StandardInput.Close();
        var output = await openssl.StandardOutput.ReadToEndAsync();
        await openssl.WaitForExitAsync();

        Assert.Equal(output.Trim().Split("= ")[^1], ClusterKey("prod-eu"));
        Assert.True(DecisionKeys.IsClusterKey(ClusterKey("prod-eu")));
    }

    private static string ClusterKey(string cluster) => Convert.ToHexStringLower(DecisionKeys.Derive(FleetKey, cluster));

    /// <summary>What a compromised bot can write with the shared database: an approved request, its signature, a run, a job.</summary>
    private static async Task<string> ForgeAsync(RemediationBed bot, Incident incident, RemediationPlan plan, byte[]? key, RemediationPlan? runPlan = null, bool enqueue = true)
    {
        var now = DateTimeOffset.UtcNow;
        var id = "apr-forged" + Guid.NewGuid().ToString("N")[..6];
        var request = new ApprovalRequest(id, incident.Id, plan, new Actor("slack", People.Mallory.Id, "mallory", []), now, now.AddHours(1), ApprovalStatus.Approved, 1, [new ApprovalVote(new Actor("slack", People.Bob.Id, "bob", []), true, now)], 1)
        {
            Cluster = "prod-b",
        };
        var run = new RemediationRun(id, incident.Id, runPlan ?? plan, RunStatus.Queued, string.Empty, now, null);
        await bot.Get<ApprovalStore>().Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                await ApprovalStore.InsertAsync(connection, transaction, request);
                if (key is not null)
                {
                    await ApprovalStore.SetSignatureAsync(connection, transaction, id, DecisionSignature.Sign(key, request));
                }

                return await RemediationRunStore.InsertQueuedAsync(connection, transaction, run, "prod-b", incident.Image, now.AddHours(1));
            },
            CancellationToken.None);
        if (enqueue)
        {
            bot.Get<ClusterJobs>().Enqueue<RemediationJob>("prod-b", job => job.RunAsync(id, CancellationToken.None));
        }

        return id;
    }

    private static IEnumerable<string> Writes(FakeKubernetesApi api) => api.Requests.Where(r => !r.StartsWith("GET ", StringComparison.Ordinal));
}
