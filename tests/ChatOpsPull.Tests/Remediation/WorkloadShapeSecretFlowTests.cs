using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Remediation;
using ChatOpsPull.Remediation.Actions;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static ChatOpsPull.Tests.Remediation.WorkloadShapeFlowTests;

namespace ChatOpsPull.Tests.Remediation;

/// <summary>
/// The pull-secret fixes on each workload shape, from end to end on SQLite and PostgreSQL, as the tag changes of
/// <see cref="WorkloadShapeFlowTests"/> are: pods on the Kubernetes API stand-in are refused by the real htpasswd
/// registry, the real diagnoser finds the secret nobody attached (or, with a credential source, none at all), the card
/// says before anyone approves what is offered, a request and an approval run the job, and the outcome is judged on the
/// pods the stand-in's controllers bring back (and on the ServiceAccount, the template and the secret). Attaching a
/// secret to the pod template is a template change: withheld where it cannot work (paused Deployment, Job, bare
/// ReplicaSet, a Rollout's or an operator's workload), behind a confirmation on Argo CD / Flux / Helm-managed workloads.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class WorkloadShapeSecretFlowTests(PostgresFixture postgres, RegistryFixture registry)
{
    private const string Ns = RemediationBed.Namespace;
    private static readonly ResourceType PodType = ResourceType.Of("pods");
    private static readonly ResourceType ServiceAccounts = ResourceType.Of("serviceaccounts");
    private static readonly ResourceType Secrets = ResourceType.Of("secrets");

    /// <summary>The fixes under test; the template one is withheld on the shapes <see cref="Withheld"/> names.</summary>
    public enum SecretFix
    {
        AttachToServiceAccount,
        AttachToTemplate,
        Refresh,
    }

    /// <summary>Every shape × fix, on both engines.</summary>
    public static TheoryData<DatabaseProvider, string, SecretFix> Cells()
    {
        var data = new TheoryData<DatabaseProvider, string, SecretFix>();
        foreach (var provider in new[] { DatabaseProvider.Sqlite, DatabaseProvider.Postgres })
        {
            foreach (var shape in Shapes)
            {
                foreach (var fix in Enum.GetValues<SecretFix>())
                {
                    data.Add(provider, shape, fix);
                }
            }
        }

        return data;
    }

    private static readonly string[] Shapes =
    [
        "deployment", "paused-deployment", "statefulset", "statefulset-partition", "statefulset-ondelete", "daemonset", "daemonset-ondelete",
        "cronjob", "job", "replicaset", "rollout-replicaset", "operator-statefulset", "argocd", "flux-kustomization", "flux-helmrelease", "helm",
    ];

    private string Private => $"{registry.Basic}/private/app:1.0";

    private string Good => $"{registry.Anonymous}/team/app:1.4.2";

    private string OwnSecret => DiagnosisPlanner.PullSecretName(registry.Basic);

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task Pull_secret_fix_runs_from_card_to_the_pods_the_controllers_bring_back_or_is_withheld_with_why(DatabaseProvider provider, string shape, SecretFix fix)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage, fix);
        var message = Unauthorized(Private);
        var seeded = Seed(bed, shape, message);
        var before = AllPods(bed, seeded).Select(Uid).ToHashSet(StringComparer.Ordinal);
        var stuckUids = seeded.Stuck.Select(n => Uid(bed.Api.Store.Get(PodType, Ns, n)!)).ToList();
        var generation = RemediationBed.Generation(seeded.Object(bed));
        var incident = await OpenAsync(bed, seeded.Workload, Private, seeded.Stuck, "ErrImagePull", message);
        Assert.True(incident.Diagnosis!.Cause is PullCause.AuthFailed or PullCause.AccessDenied, $"{incident.Diagnosis.Cause}: {incident.Diagnosis.Summary}");
        var card = await CardAsync(bed, incident);
        if (seeded.Owner is { } owner)
        {
            Assert.Contains(owner, Assert.Single(card.Sections, s => s.Heading == "Owned by").Text, StringComparison.Ordinal);
        }

        var kind = fix switch
        {
            SecretFix.AttachToServiceAccount => RemediationKind.AttachPullSecretToServiceAccount,
            SecretFix.AttachToTemplate => RemediationKind.AttachPullSecretToWorkload,
            SecretFix.Refresh => RemediationKind.RefreshCredentials,
            _ => throw new ArgumentOutOfRangeException(nameof(fix), fix, "unknown fix"),
        };
        if (fix == SecretFix.AttachToTemplate && seeded.Withheld is { } why)
        {
            await AssertWithheldAsync(bed, incident, card, seeded, why, generation);
            return;
        }

        var plan = Plan(incident, kind);
        var verb = CardVerb.Request;
        if (fix == SecretFix.AttachToTemplate && seeded.ManagedByTool)
        {
            Assert.Contains($"{plan.Title} anyway", Buttons(card));
            Assert.DoesNotContain(plan.Title, Buttons(card));
            verb = CardVerb.RequestAnyway;
        }
        else
        {
            Assert.Contains(plan.Title, Buttons(card));
        }

        var secret = plan.Parameters["secret"];
        Assert.Equal(OwnSecret, secret);
        var approvalId = await RequestAndApproveAsync(bed, incident, plan, verb, dryRun: d =>
        {
            Assert.Contains(
                fix switch
                {
                    SecretFix.AttachToServiceAccount => $"serviceaccount default: imagePullSecrets: (none) → [{secret}]",
                    SecretFix.AttachToTemplate => $"imagePullSecrets: (none) → [{secret}]",
                    _ => $"secret {secret}: created",
                },
                d,
                StringComparison.Ordinal);
            Assert.DoesNotContain(RegistryFixture.BasicPassword, d, StringComparison.Ordinal);
        });

        // The outcome on the pods: the stuck ones are gone, their controller brought new ones, and those pull.
        var replacements = await Eventually.ValueAsync(
            () => Task.FromResult(AllPods(bed, seeded).Where(p => !before.Contains(Uid(p))).ToList()),
            pods => pods.Count > 0 && !AllPods(bed, seeded).Any(p => stuckUids.Contains(Uid(p)) && fix != SecretFix.AttachToTemplate),
            $"the controller of {seeded.Workload} to bring new pods");
        var run = await MarkReadyUntilFinishedAsync(bed, seeded, before, approvalId);

        Assert.True(run.Run.Status == RunStatus.Succeeded, $"{run.Run.Status}: {run.Run.Detail}");
        Assert.DoesNotContain(AllPods(bed, seeded), p => stuckUids.Contains(Uid(p)) && (fix != SecretFix.AttachToTemplate || seeded.Workload.Kind != "CronJob"));
        var account = bed.Api.Store.Get(ServiceAccounts, Ns, "default")!;
        var onAccount = (account["imagePullSecrets"] as JsonArray ?? []).Select(s => s!["name"]!.GetValue<string>()).ToList();
        var after = seeded.Object(bed);
        switch (fix)
        {
            case SecretFix.AttachToTemplate:
                Assert.Equal(generation + 1, RemediationBed.Generation(after));
                Assert.Contains(secret, PullSecrets(seeded.Workload.Kind == "CronJob" ? after["spec"]!["jobTemplate"]!["spec"]!["template"]!["spec"] : after["spec"]!["template"]!["spec"]));
                Assert.All(replacements.Concat(AllPods(bed, seeded).Where(p => !before.Contains(Uid(p)))), p => Assert.Contains(secret, PullSecrets(p["spec"])));
                Assert.Empty(onAccount);
                break;
            case SecretFix.AttachToServiceAccount or SecretFix.Refresh:
                Assert.Equal(generation, RemediationBed.Generation(after)); // no spec change: nothing a GitOps tool would undo
                Assert.Equal([secret], onAccount);
                Assert.Contains("deleted", run.Run.Detail, StringComparison.Ordinal);

                // The pods that came back were admitted with the ServiceAccount's pull secret, so kubelet pulls with it.
                Assert.All(AllPods(bed, seeded).Where(p => !before.Contains(Uid(p))), p => Assert.Contains(secret, PullSecrets(p["spec"])));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(fix), fix, "unknown fix");
        }

        if (fix == SecretFix.Refresh)
        {
            var written = bed.Api.Store.Get(Secrets, Ns, secret)!;
            Assert.Equal(RefreshCredentialsAction.ManagedByValue, written["metadata"]!["labels"]![RefreshCredentialsAction.ManagedByLabel]!.GetValue<string>());
            Assert.DoesNotContain(RegistryFixture.BasicPassword, run.Run.Detail, StringComparison.Ordinal);
        }
    }

    /// <summary>The template fix is not offered, the card says why, and a forged request for it is refused and changes nothing.</summary>
    private async Task AssertWithheldAsync(RemediationBed bed, Incident incident, Card card, Shape seeded, string why, long generation)
    {
        var title = $"Attach {OwnSecret} to {seeded.Workload}";
        Assert.DoesNotContain(incident.Diagnosis!.Remediations, p => p.Kind == RemediationKind.AttachPullSecretToWorkload);
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith(title, StringComparison.Ordinal));
        var line = Assert.Single(NotOffered(card), l => l.StartsWith($"*{title}*", StringComparison.Ordinal));
        Assert.Contains(why, line, StringComparison.Ordinal);
        Assert.Contains(Plan(incident, RemediationKind.AttachPullSecretToServiceAccount).Title, Buttons(card)); // what still works

        var (kind, name) = seeded.Patchable;
        var forged = new RemediationPlan(
            RemediationKind.AttachPullSecretToWorkload, Ns, kind, name, title, "Adds the secret to the pod template.", RemediationRisk.Medium,
            new Dictionary<string, string>(StringComparer.Ordinal) { ["secret"] = OwnSecret });
        var reply = await bed.Get<IRemediationRequests>().RequestAsync(People.Alice, incident.Id, RemediationBed.Cluster, forged, ownerConfirmed: true, CancellationToken.None);

        Assert.Contains("Nothing was requested", reply.Text, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        Assert.Equal(generation, RemediationBed.Generation(seeded.Object(bed)));
        Assert.DoesNotContain(bed.Api.Requests, r => r.StartsWith("PATCH ", StringComparison.Ordinal));
    }

    // ---- the bed ----

    private async Task<RemediationBed> StartAsync(TestStorage storage, SecretFix fix)
    {
        var settings = new Dictionary<string, string?>();
        if (fix == SecretFix.Refresh)
        {
            settings["Remediation:CredentialSources:0:Registry"] = registry.Basic;
            settings["Remediation:CredentialSources:0:Secret"] = "registry-creds";
        }

        var bed = await RemediationBed.StartAsync(storage, registry, settings, services: s =>
        {
            s.RemoveAll<IIncidentDiagnoser>();
            s.AddSingleton<IIncidentDiagnoser>(sp => sp.GetRequiredService<EvidenceDiagnoser>());
        });
        if (fix == SecretFix.Refresh)
        {
            var source = RemediationFlowTests.Secret("registry-creds", registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword);
            source["metadata"]!["namespace"] = "chatopspull";
            bed.Api.Seed(source);
        }
        else
        {
            // The secret that would let the pods pull, in the namespace under the name the bot looks for; nobody attached it.
            bed.Api.Seed(RemediationFlowTests.Secret(OwnSecret, registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword));
        }

        return bed;
    }

    /// <summary>
    /// Marks the pods that came after the fix Ready (their image pulls now) until the run is finished, since new pods keep
    /// coming on some shapes (OrderedReady, a rolling update). A pod is picked by its StatefulSet pod name or its Job's name
    /// where it has one (so a CronJob's stuck Job keeps its stuck pod), otherwise by its app label.
    /// </summary>
    private static async Task<RunRecord> MarkReadyUntilFinishedAsync(RemediationBed bed, Shape seeded, HashSet<string> before, string approvalId)
    {
        var runs = bed.Get<RemediationRunStore>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (true)
        {
            foreach (var pod in AllPods(bed, seeded).Where(p => !before.Contains(Uid(p))))
            {
                var labels = pod["metadata"]!["labels"]!;
                bed.Api.MarkPodsReady(Ns, labels["statefulset.kubernetes.io/pod-name"] is { } ordinal ? $"statefulset.kubernetes.io/pod-name={ordinal}"
                    : labels["batch.kubernetes.io/job-name"] is { } job ? $"batch.kubernetes.io/job-name={job}"
                    : $"app={seeded.App}");
            }

            if (await runs.GetAsync(approvalId) is { Run.IsFinished: true } run)
            {
                return run;
            }

            if (DateTime.UtcNow > until)
            {
                throw new Xunit.Sdk.XunitException($"run {approvalId} did not finish: {(await runs.GetAsync(approvalId))?.Run.Detail}");
            }

            await Task.Delay(100); // the test plays the kubelet here: it marks new pods Ready at its own pace
        }
    }

    private static string Unauthorized(string image) =>
        $"Failed to pull image \"{image}\": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to http://{image.Split('/')[0]}/v2/: 401 Unauthorized";

    private static List<string> PullSecrets(JsonNode? podSpec) =>
        (podSpec?["imagePullSecrets"] as JsonArray ?? []).Select(s => s!["name"]!.GetValue<string>()).ToList();

    /// <summary>The pods the shape's controller owns now (not being deleted).</summary>
    private static List<JsonObject> AllPods(RemediationBed bed, Shape seeded) => bed.Api.Store.List(PodType, Ns)
        .Where(p => p["metadata"]?["deletionTimestamp"] is null && p["metadata"]?["labels"]?["app"]?.GetValue<string>() == seeded.App)
        .ToList();

    // ---- the shapes ----

    /// <summary>A seeded shape: the workload the diagnosis names, its stuck pods, and what the tests read back.</summary>
    /// <param name="App">The app label of its pods.</param>
    /// <param name="Stored">The object whose generation tells whether its spec changed.</param>
    /// <param name="Patchable">The object a forged template change would name.</param>
    /// <param name="Withheld">Why the card withholds the template fix, or null when it is offered.</param>
    /// <param name="Owner">How the card names the tool or controller that owns it, or null.</param>
    private sealed record Shape(WorkloadRef Workload, IReadOnlyList<string> Stuck, string App, (string Type, string Name) Stored, (string Kind, string Name) Patchable, string? Withheld = null, string? Owner = null, bool ManagedByTool = false)
    {
        public JsonObject Object(RemediationBed bed) => bed.Api.Store.Get(ResourceType.Of(Stored.Type), Ns, Stored.Name)!;
    }

    private Shape Seed(RemediationBed bed, string shape, string message)
    {
        switch (shape)
        {
            case "deployment" or "argocd" or "flux-kustomization" or "flux-helmrelease" or "helm":
            {
                var deployment = RemediationBed.Deployment("api", Private, replicas: 2);
                string? owner = null;
                if (shape != "deployment")
                {
                    owner = MarkManaged(deployment, shape).Described;
                }

                var stuck = SeedDeploymentPods(bed, deployment, message);
                return new Shape(new WorkloadRef("Deployment", "api"), stuck, "api", ("deployments", "api"), ("Deployment", "api"), Owner: owner, ManagedByTool: owner is not null);
            }

            case "paused-deployment":
            {
                var stuck = SeedDeploymentPods(bed, RemediationBed.Deployment("api", Private, replicas: 2), message);
                var paused = (JsonObject)bed.DeploymentObject("api").DeepClone();
                paused["spec"]!["paused"] = true;
                bed.Api.Seed(paused);
                return new Shape(new WorkloadRef("Deployment", "api"), stuck, "api", ("deployments", "api"), ("Deployment", "api"), Withheld: "is paused: a change to its pod template would not roll out until someone resumes it");
            }

            case "statefulset" or "operator-statefulset":
            {
                // RollingUpdate without partition, OrderedReady: vault-0 is made first and stays stuck, so vault-1 waits.
                var name = shape == "statefulset" ? "vault" : "rabbit-server";
                var owner = shape == "statefulset" ? null : Controller("rabbitmq.com/v1beta1", "RabbitmqCluster", "rabbit", Guid.NewGuid().ToString());
                bed.Api.Seed(Workload("apps/v1", "StatefulSet", name, new JsonObject
                {
                    ["podManagementPolicy"] = "OrderedReady",
                    ["replicas"] = 2,
                    ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
                    ["serviceName"] = name,
                    ["template"] = Template(name, Private),
                    ["updateStrategy"] = new JsonObject { ["type"] = "RollingUpdate" },
                }, status: null, owner));
                bed.Api.SetContainerWaiting(Ns, $"{name}-0", "app", "ErrImagePull", message);
                return owner is null
                    ? new Shape(new WorkloadRef("StatefulSet", name), [$"{name}-0"], name, ("statefulsets", name), ("StatefulSet", name))
                    : new Shape(new WorkloadRef("StatefulSet", name), [$"{name}-0"], name, ("statefulsets", name), ("StatefulSet", name),
                        Withheld: "belongs to RabbitmqCluster rabbit (controller owner RabbitmqCluster rabbit (rabbitmq.com/v1beta1)), whose controller writes its pod template and undoes a patch at its next reconcile; the bot does not patch it",
                        Owner: "RabbitmqCluster rabbit");
            }

            case "statefulset-partition":
            {
                // tests/fixtures/kubernetes/shape-statefulset-partition.json: partition 2, ledger-2 at the update revision and stuck.
                SeedShape(bed, "shape-statefulset-partition.json", ("registry.example.com/payments/ledger:3.2.0", Private), ("registry.example.com/payments/ledger:3.1.4", Good));
                bed.Api.SetContainerWaiting(Ns, "ledger-2", "ledger", "ErrImagePull", message);
                return new Shape(new WorkloadRef("StatefulSet", "ledger"), ["ledger-2"], "ledger", ("statefulsets", "ledger"), ("StatefulSet", "ledger"));
            }

            case "statefulset-ondelete":
            {
                SeedShape(bed, "shape-statefulset-ondelete.json", ("registry.example.com/shop/session-cache:7.2.6-rc", Private), ("registry.example.com/shop/session-cache:7.2.5", Good));
                bed.Api.SetContainerWaiting(Ns, "session-cache-0", "session-cache", "ErrImagePull", message);
                return new Shape(new WorkloadRef("StatefulSet", "session-cache"), ["session-cache-0"], "session-cache", ("statefulsets", "session-cache"), ("StatefulSet", "session-cache"));
            }

            case "daemonset":
            {
                // RollingUpdate: the daemonset controller makes one pod per node from the template, and they cannot pull.
                bed.Api.SeedAll([Node("worker-1"), Node("worker-2"), DaemonSet("agent", Private, desired: 2, strategy: "RollingUpdate")]);
                var stuck = bed.Api.Store.List(PodType, Ns).Where(p => p["metadata"]?["labels"]?["app"]?.GetValue<string>() == "agent").Select(ObjectStore.Name).ToList();
                Assert.Equal(2, stuck.Count);
                foreach (var pod in stuck)
                {
                    bed.Api.SetContainerWaiting(Ns, pod, "app", "ErrImagePull", message);
                }

                return new Shape(new WorkloadRef("DaemonSet", "agent"), stuck, "agent", ("daemonsets", "agent"), ("DaemonSet", "agent"));
            }

            case "daemonset-ondelete":
            {
                var daemonSet = DaemonSet("agent", Private, desired: 2);
                var owner = Controller("apps/v1", "DaemonSet", "agent", Uid(daemonSet));
                var stuck = new[] { ("agent-7xk2p", "worker-1"), ("agent-9qw4m", "worker-2") };
                bed.Api.SeedAll([Node("worker-1"), Node("worker-2"), daemonSet, .. stuck.Select(p => Pod(p.Item1, Private, "agent", owner, stuck: message, node: p.Item2))]);
                return new Shape(new WorkloadRef("DaemonSet", "agent"), [.. stuck.Select(p => p.Item1)], "agent", ("daemonsets", "agent"), ("DaemonSet", "agent"));
            }

            case "cronjob":
            {
                var objects = SeedShape(bed, "shape-cronjob-job-pod.json", ("registry.example.com/billing/invoice-export:4.0.0-rc1", Private));
                bed.Api.Controllers.JobBackoff = TimeSpan.FromMilliseconds(100); // the job controller's 10 s before replacing a failed pod, shortened
                var pod = ObjectStore.Name(objects.Single(o => o["kind"]!.GetValue<string>() == "Pod"));
                bed.Api.SetContainerWaiting(Ns, pod, "invoice-export", "ErrImagePull", message);
                return new Shape(new WorkloadRef("CronJob", "invoice-export"), [pod], "invoice-export", ("cronjobs", "invoice-export"), ("CronJob", "invoice-export"));
            }

            case "job":
            {
                // A Job nothing else owns (a one-off migration); the job controller makes its pod and replaces a deleted one after its backoff.
                bed.Api.Controllers.JobBackoff = TimeSpan.FromMilliseconds(100);
                var job = bed.Api.Seed(Workload("batch/v1", "Job", "migrate", new JsonObject
                {
                    ["backoffLimit"] = 6,
                    ["template"] = Template("migrate", Private, restartPolicy: "Never"),
                }, status: null));
                var pod = Assert.Single(bed.Api.Store.List(PodType, Ns), p => p["metadata"]?["ownerReferences"]?[0]?["uid"]?.GetValue<string>() == Uid(job));
                bed.Api.SetContainerWaiting(Ns, ObjectStore.Name(pod), "app", "ErrImagePull", message);
                return new Shape(new WorkloadRef("Job", "migrate"), [ObjectStore.Name(pod)], "migrate", ("jobs", "migrate"), ("Job", "migrate"),
                    Withheld: "is a Job without CronJob, and a Job's pod template cannot change");
            }

            case "replicaset":
            {
                var uid = Uid(bed.Api.Seed(ReplicaSet("legacy", Private, owner: null)));
                var owner = Controller("apps/v1", "ReplicaSet", "legacy", uid);
                string[] stuck = ["legacy-5kq8z", "legacy-7mn2x"];
                bed.Api.SeedAll(stuck.Select(n => Pod(n, Private, "legacy", owner, stuck: message)));
                return new Shape(new WorkloadRef("ReplicaSet", "legacy"), stuck, "legacy", ("replicasets", "legacy"), ("ReplicaSet", "legacy"),
                    Withheld: "has no Deployment, and a ReplicaSet does not replace its pods when its template changes");
            }

            case "rollout-replicaset":
            {
                var rollout = Controller("argoproj.io/v1alpha1", "Rollout", "web", Guid.NewGuid().ToString());
                var uid = Uid(bed.Api.Seed(ReplicaSet("web-6d4f8b9c7", Private, rollout)));
                var owner = Controller("apps/v1", "ReplicaSet", "web-6d4f8b9c7", uid);
                string[] stuck = ["web-6d4f8b9c7-2xk9p", "web-6d4f8b9c7-8qm4z"];
                bed.Api.SeedAll(stuck.Select(n => Pod(n, Private, "web-6d4f8b9c7", owner, stuck: message)));
                return new Shape(new WorkloadRef("Rollout", "web"), stuck, "web-6d4f8b9c7", ("replicasets", "web-6d4f8b9c7"), ("ReplicaSet", "web-6d4f8b9c7"),
                    Withheld: "the bot never patches them and does not change Rollouts", Owner: "Argo Rollouts Rollout web");
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, "unknown shape");
        }
    }
}
