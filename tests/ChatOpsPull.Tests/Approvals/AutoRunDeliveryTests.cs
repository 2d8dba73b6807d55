using System.Collections.Concurrent;
using ChatOpsPull.Approvals;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Storage;
using Hangfire;

namespace ChatOpsPull.Tests.Approvals;

/// <summary>
/// An auto-run is its own job: telling the notifiers that an incident was diagnosed only enqueues it, and the request,
/// its dry run against the cluster and the approval happen when a worker runs that job — never inside card delivery.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class AutoRunDeliveryTests(RegistryFixture registry)
{
    [Fact]
    public async Task Telling_the_diagnosis_only_enqueues_the_auto_run_and_the_job_asks_and_dry_runs()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new()
        {
            ["Approvals:AutoRun:0"] = "delete_backoff_pods",
            ["Jobs:RunServer"] = "false", // nothing runs a job unless the test does
        });
        var image = $"{registry.Anonymous}/team/app:1.4.2";
        bed.SeedFailingDeployment("api", image);
        var engine = bed.Get<IncidentEngine>();
        foreach (var pod in bed.PodsOf("api").Select(ObjectStore.Name))
        {
            await engine.ReportAsync(
                new PullFailure(FailureSource.KubernetesWatch, RemediationBed.Cluster, RemediationBed.Namespace, pod, "app", ContainerKind.Regular, image, "ImagePullBackOff", $"Back-off pulling image \"{image}\"", DateTimeOffset.UtcNow)
                {
                    Workload = new WorkloadRef("Deployment", "api"),
                },
                CancellationToken.None);
        }

        var store = bed.Get<IncidentStore>();
        var incident = Assert.Single(await store.ListOpenAsync());
        var ticket = await store.GetDiagnosisTicketAsync(incident.Id);
        var apiCalls = new ConcurrentQueue<FakeRequest>();
        bed.Api.BeforeServing = request =>
        {
            apiCalls.Enqueue(request);
            return Task.CompletedTask;
        };

        // The diagnosis is stored and told to every notifier (cards, auto-run) before this returns.
        var diagnosed = await engine.ApplyDiagnosisAsync(incident.Id, ticket!.Requested, Facts.PullableNow()(incident));

        Assert.Equal(IncidentUpdateOutcome.Changed, diagnosed.Outcome);
        Assert.Empty(apiCalls);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        var queued = bed.Get<JobStorage>().GetMonitoringApi().EnqueuedJobs("default", 0, 50)
            .Where(j => j.Value.Job?.Type == typeof(AutoRunJob))
            .ToList();
        Assert.Equal(incident.Id, Assert.Single(queued).Value.Job.Args[0]);

        // A worker runs the job: now the request is made, dry-run against the cluster, and approved by policy.
        await bed.Get<AutoRunJob>().RunAsync(incident.Id, CancellationToken.None);

        var request = Assert.Single(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        Assert.Equal((ApprovalStatus.Approved, "system"), (request.Status, request.RequestedBy.Platform));
        Assert.Contains(apiCalls, c => c.DryRun && c.Verb == "delete" && c.Resource == "pods");
    }
}
