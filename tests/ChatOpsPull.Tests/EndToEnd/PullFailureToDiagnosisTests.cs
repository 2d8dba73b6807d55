using System.Text.Json.Nodes;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.EndToEnd;

/// <summary>
/// The whole detection path on real parts: a pod on the fake API server that cannot pull from a real registry becomes
/// an incident, the diagnose job runs through real Hangfire, and the diagnosis rests on the registry's answer.
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class PullFailureToDiagnosisTests(RegistryFixture registry) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cop-e2e-").FullName;

    [Fact]
    public async Task Rollout_with_a_missing_tag_becomes_one_incident_diagnosed_from_the_registry_with_confirmed_tags()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        SeedWorkload(api, image, pods: 10);
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, Settings(api));
        var store = host.Services.GetRequiredService<IncidentStore>();

        Incident? incident = null;
        await Eventually.HoldsAsync(
            () => (incident = store.ListOpenAsync("prod-eu", "shop").GetAwaiter().GetResult().SingleOrDefault()) is { State: IncidentState.Diagnosed, Pods.Count: 10 },
            "one diagnosed incident with all ten pods",
            TimeSpan.FromSeconds(60));

        var diagnosis = incident!.Diagnosis!;
        Assert.Equal(PullCause.ImageNotFound, diagnosis.Cause);
        Assert.True(diagnosis.Confidence > 0.9, $"confidence {diagnosis.Confidence}");
        Assert.Contains("`1.4.3` does not exist", diagnosis.Summary, StringComparison.Ordinal);
        Assert.True(
            diagnosis.Evidence.Any(e => e.Outcome == EvidenceOutcome.Failed && e.Check == "manifest team/app:1.4.3" && e.Detail.Contains("MANIFEST_UNKNOWN", StringComparison.Ordinal)),
            string.Join("\n", diagnosis.Evidence));
        Assert.Contains(diagnosis.Evidence, e => e.Check.StartsWith("pull secret regcred", StringComparison.Ordinal));
        var setTag = diagnosis.Remediations.First(r => r.Kind == RemediationKind.SetImageTag);
        Assert.Equal($"{registry.Anonymous}/team/app:1.4.2", setTag.Parameters["image"]);
        Assert.Equal(("Deployment", "web", "web"), (setTag.WorkloadKind, setTag.WorkloadName, setTag.Parameters["container"]));
    }

    [Fact]
    public async Task A_pod_whose_multi_platform_image_now_exists_is_diagnosed_as_retryable_not_missing()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        SeedWorkload(api, $"{registry.Anonymous}/team/multi:1.0", pods: 1, diskPressure: false);
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, Settings(api));
        var incident = await DiagnosedIncidentAsync(host);

        var diagnosis = incident.Diagnosis!;
        Assert.True(diagnosis.Cause != PullCause.ImageNotFound, diagnosis.Summary + "\n" + string.Join("\n", diagnosis.Evidence));
        Assert.Contains("serves", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Equal(RemediationKind.DeleteBackoffPods, diagnosis.Remediations[0].Kind);
    }

    [Fact]
    public async Task An_amd64_only_image_on_an_arm64_node_is_a_platform_mismatch()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        SeedWorkload(api, $"{registry.Anonymous}/team/app:1.4.2", pods: 1, diskPressure: false);
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, Settings(api));
        var incident = await DiagnosedIncidentAsync(host);

        Assert.Equal(PullCause.PlatformMismatch, incident.Diagnosis!.Cause);
        Assert.Contains("linux/arm64", incident.Diagnosis.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Refresh_credentials_is_offered_for_a_failed_login_only_where_a_credential_source_is_configured(bool sourceConfigured)
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var image = $"{registry.Basic}/private/app:1.0";
        var message = $"Failed to pull image \"{image}\": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to http://{registry.Basic}/v2/: 401 Unauthorized";
        SeedWorkload(api, image, pods: 1, diskPressure: false, message: message);
        api.SetContainerWaiting("shop", "web-6b9f7c5d8-e2e00", "web", "ErrImagePull", message);
        var settings = Settings(api);
        settings["Registry:Hosts:1:Host"] = registry.Basic;
        settings["Registry:Hosts:1:PlainHttp"] = "true";
        if (sourceConfigured)
        {
            settings["Remediation:CredentialSources:0:Registry"] = registry.Basic;
            settings["Remediation:CredentialSources:0:Secret"] = "registry-creds";
            settings["Remediation:CredentialSources:0:Namespace"] = "chatopspull";
        }

        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, settings);
        var incident = await DiagnosedIncidentAsync(host);

        var diagnosis = incident.Diagnosis!;
        Assert.True(diagnosis.Cause is PullCause.AuthFailed or PullCause.AccessDenied, diagnosis.Cause + ": " + diagnosis.Summary);
        var refresh = diagnosis.Remediations.SingleOrDefault(r => r.Kind == RemediationKind.RefreshCredentials);
        if (sourceConfigured)
        {
            Assert.NotNull(refresh);
            Assert.Equal(registry.Basic, refresh.Parameters["registry"]);
            Assert.Equal("regcred", refresh.Parameters["secret"]);
        }
        else
        {
            Assert.Null(refresh);
        }
    }

    [Fact]
    public async Task A_pull_secret_nobody_attached_is_found_by_name_without_listing_secrets()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var image = $"{registry.Basic}/private/app:1.0";
        var message = $"Failed to pull image \"{image}\": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to http://{registry.Basic}/v2/: 401 Unauthorized";
        SeedWorkload(api, image, pods: 1, diskPressure: false, message: message);
        api.SetContainerWaiting("shop", "web-6b9f7c5d8-e2e00", "web", "ErrImagePull", message);
        var ownName = ChatOpsPull.Core.Diagnoses.DiagnosisPlanner.PullSecretName(registry.Basic);
        foreach (var name in new[] { "team-login", ownName, "not-listed-login" })
        {
            api.Seed(Remediation.RemediationFlowTests.Secret(name, registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword));
        }

        var settings = Settings(api);
        settings["Registry:Hosts:1:Host"] = registry.Basic;
        settings["Registry:Hosts:1:PlainHttp"] = "true";
        settings["Kubernetes:PullSecretNames:0"] = "team-login";
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, settings);
        var incident = await DiagnosedIncidentAsync(host);

        var diagnosis = incident.Diagnosis!;
        var found = Assert.Single(diagnosis.Evidence, e => e.Check == "unattached secrets");
        Assert.Equal($"{ownName}, team-login in shop have credentials for {registry.Basic} but the pod does not use them", found.Detail);
        Assert.Contains(diagnosis.Remediations, r => r.Kind == RemediationKind.AttachPullSecretToServiceAccount && r.Parameters["secret"] == ownName);
        Assert.DoesNotContain(api.Requests, r => r.StartsWith("GET /api/v1/namespaces/shop/secrets?", StringComparison.Ordinal) || r == "GET /api/v1/namespaces/shop/secrets");
        Assert.Contains($"GET /api/v1/namespaces/shop/secrets/team-login", api.Requests);
    }

    [Fact]
    public async Task A_diagnosis_reads_its_deployment_once_for_the_shape_and_the_rollout_history()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        SeedWorkload(api, $"{registry.Anonymous}/team/app:1.4.3", pods: 1, diskPressure: false);
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, Settings(api));
        var incident = await SettledDiagnosisAsync(host);

        const string deployment = "GET /apis/apps/v1/namespaces/shop/deployments/web";
        const string replicaSets = "GET /apis/apps/v1/namespaces/shop/replicasets";
        int Count(string read) => api.Requests.Count(r => r == read || r.StartsWith(read + "?", StringComparison.Ordinal));
        var (deploymentsBefore, setsBefore) = (Count(deployment), Count(replicaSets));
        var diagnosis = await host.Services.GetRequiredService<Diagnosing.EvidenceDiagnoser>().DiagnoseAsync(incident, CancellationToken.None);

        Assert.Equal(PullCause.ImageNotFound, diagnosis.Cause);
        Assert.Equal(1, Count(deployment) - deploymentsBefore);
        Assert.Equal(1, Count(replicaSets) - setsBefore);
    }

    [Fact]
    public async Task A_diagnosis_reads_the_workload_beside_the_pod_and_not_after_it()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        SeedWorkload(api, $"{registry.Anonymous}/team/app:1.4.3", pods: 1, diskPressure: false);
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, Settings(api));
        var incident = await SettledDiagnosisAsync(host);

        // The pod's answer is held until the Deployment has been asked for: a diagnosis that read the workload only once
        // it had the pod would never get there (the hold gives up after a minute and the diagnosis has no pod).
        var deploymentAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.BeforeServing = request =>
        {
            if (request is { Verb: "get", Resource: "deployments", Name: "web" })
            {
                deploymentAsked.TrySetResult();
            }

            return request is { Verb: "get", Resource: "pods" } ? deploymentAsked.Task.WaitAsync(TimeSpan.FromMinutes(1)) : Task.CompletedTask;
        };
        var diagnosis = await host.Services.GetRequiredService<Diagnosing.EvidenceDiagnoser>().DiagnoseAsync(incident, CancellationToken.None);

        Assert.True(deploymentAsked.Task.IsCompletedSuccessfully);
        Assert.Equal(incident.Diagnosis!.Cause, diagnosis.Cause);
        Assert.Equal(incident.Diagnosis.Summary, diagnosis.Summary);
        Assert.Equal(
            incident.Diagnosis.Remediations.Select(r => (r.Kind, r.WorkloadKind, r.WorkloadName)),
            diagnosis.Remediations.Select(r => (r.Kind, r.WorkloadKind, r.WorkloadName)));
    }

    [Fact]
    public async Task An_incident_naming_another_workload_than_the_pods_owner_is_diagnosed_with_the_pods_own_workload()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        SeedWorkload(api, $"{registry.Anonymous}/team/app:1.4.3", pods: 1, diskPressure: false);
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, Settings(api));
        var incident = await SettledDiagnosisAsync(host);

        // An incident whose workload is not the pod's (an alert's guess, a workload renamed since): the read started for
        // the named one is dropped and the pod's own Deployment is read.
        var elsewhere = incident with { Workload = new WorkloadRef("StatefulSet", "not-web") };
        var diagnosis = await host.Services.GetRequiredService<Diagnosing.EvidenceDiagnoser>().DiagnoseAsync(elsewhere, CancellationToken.None);

        Assert.Equal(PullCause.ImageNotFound, diagnosis.Cause);
        Assert.Contains(api.Requests, r => r.StartsWith("GET /apis/apps/v1/namespaces/shop/statefulsets/not-web", StringComparison.Ordinal));
        var setTag = diagnosis.Remediations.First(r => r.Kind == RemediationKind.SetImageTag);
        Assert.Equal(("Deployment", "web"), (setTag.WorkloadKind, setTag.WorkloadName));
    }

    [Fact]
    public async Task A_diagnosis_reads_the_pods_node_beside_the_pod_and_every_object_once()
    {
        await using var bed = await OnePodDiagnosedAsync();
        var (api, incident, diagnoser) = (bed.Api, bed.Incident, bed.Diagnoser);
        Assert.Equal("worker-1", incident.Pods.Single().NodeName);

        // The pod's answer is held until its node has been asked for: a diagnosis that read the node only once it had the
        // pod would never get there (the hold gives up after a minute, and the pod read fails the diagnosis's evidence).
        var nodeAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.BeforeServing = request =>
        {
            if (request is { Verb: "get", Resource: "nodes", Name: "worker-1" })
            {
                nodeAsked.TrySetResult();
            }

            return request is { Verb: "get", Resource: "pods" } ? nodeAsked.Task.WaitAsync(TimeSpan.FromMinutes(1)) : Task.CompletedTask;
        };
        var before = api.Requests.Count;
        var diagnosis = await diagnoser.DiagnoseAsync(incident, CancellationToken.None);
        var sent = api.Requests.Skip(before).Select(r => r.Split('?')[0]).Order(StringComparer.Ordinal).ToArray();

        Assert.True(nodeAsked.Task.IsCompletedSuccessfully);
        Assert.Equal(
            new[]
            {
                "GET /api/v1/namespaces/shop/pods/web-6b9f7c5d8-e2e00",
                "GET /api/v1/namespaces/shop/secrets/" + DiagnosisPlanner.PullSecretName(registry.Anonymous.Split('/')[0]), // an unattached secret that might fit
                "GET /api/v1/namespaces/shop/secrets/regcred",
                "GET /api/v1/namespaces/shop/serviceaccounts/default",
                "GET /api/v1/nodes/worker-1",
                "GET /apis/apps/v1/namespaces/shop/deployments/web",
                "GET /apis/apps/v1/namespaces/shop/replicasets",
            }.Order(StringComparer.Ordinal),
            sent);
        Assert.Equal(Described(bed.Baseline), Described(diagnosis));
    }

    [Fact]
    public async Task A_pod_reported_on_another_node_than_it_runs_on_is_diagnosed_with_the_node_it_runs_on()
    {
        await using var bed = await OnePodDiagnosedAsync();
        var (api, incident, diagnoser) = (bed.Api, bed.Incident, bed.Diagnoser);

        // The node read beside the pod is of the node the pod was reported on; the pod as read names another one, which is
        // the one the evidence must be of.
        var elsewhere = incident with { Pods = [.. incident.Pods.Select(p => p with { NodeName = "worker-9" })] };
        var diagnosis = await diagnoser.DiagnoseAsync(elsewhere, CancellationToken.None);

        Assert.Contains("GET /api/v1/nodes/worker-9", api.Requests);
        Assert.Contains(diagnosis.Evidence, e => e.Check == "node worker-1 platform");
        Assert.DoesNotContain(diagnosis.Evidence, e => e.Check.Contains("worker-9", StringComparison.Ordinal) || e.Detail.Contains("worker-9", StringComparison.Ordinal));
        Assert.Equal(Described(bed.Baseline), Described(diagnosis));
    }

    [Fact]
    public async Task A_pod_the_watcher_reported_has_its_serviceaccount_and_pull_secrets_read_beside_it_and_the_same_card_as_one_read_after_it()
    {
        await using var bed = await OnePodDiagnosedAsync();
        var (api, incident, diagnoser) = (bed.Api, bed.Incident, bed.Diagnoser);
        var (reported, pod, names, ordinary) = await OrdinaryDiagnosisAsync(bed);
        Assert.NotNull(names);
        Assert.Equal("default", names.ServiceAccount);
        Assert.Equal(["regcred"], names.PullSecrets);

        // The pod's answer is held until its ServiceAccount and its pull secret have been asked for: a diagnosis that read
        // them only once it had the pod would never get there (the hold gives up after a minute, and the pod read fails).
        reported.Remember("prod-eu", "shop", pod, names);
        var serviceAccountAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secretAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.BeforeServing = request =>
        {
            if (request is { Verb: "get", Resource: "serviceaccounts", Name: "default" })
            {
                serviceAccountAsked.TrySetResult();
            }

            if (request is { Verb: "get", Resource: "secrets", Name: "regcred" })
            {
                secretAsked.TrySetResult();
            }

            return request is { Verb: "get", Resource: "pods" }
                ? Task.WhenAll(serviceAccountAsked.Task, secretAsked.Task).WaitAsync(TimeSpan.FromMinutes(1))
                : Task.CompletedTask;
        };
        var before = api.Requests.Count;
        var early = await diagnoser.DiagnoseAsync(incident, CancellationToken.None);

        Assert.True(serviceAccountAsked.Task.IsCompletedSuccessfully && secretAsked.Task.IsCompletedSuccessfully);
        Assert.Single(api.Requests.Skip(before), r => r.StartsWith("GET /api/v1/namespaces/shop/serviceaccounts/default", StringComparison.Ordinal));
        Assert.Single(api.Requests.Skip(before), r => r.StartsWith("GET /api/v1/namespaces/shop/secrets/regcred", StringComparison.Ordinal));
        Assert.Contains(early.Evidence, e => e.Check == "pull secret regcred");
        Assert.Equal(Described(ordinary), Described(early));
        Assert.Equal(Described(bed.Baseline), Described(early));
    }

    [Fact]
    public async Task A_pod_reported_with_other_credential_names_than_it_has_is_diagnosed_with_its_own()
    {
        await using var bed = await OnePodDiagnosedAsync();
        var (api, incident, diagnoser) = (bed.Api, bed.Incident, bed.Diagnoser);
        var (reported, pod, _, ordinary) = await OrdinaryDiagnosisAsync(bed);

        // Names the pod as read does not have (a pod of the same name created again since): the reads started for them
        // are dropped, and the pod's own ServiceAccount and secret are read.
        reported.Remember("prod-eu", "shop", pod, new ChatOpsPull.Kubernetes.PodCredentialNames("builder", ["old-login"]));
        var before = api.Requests.Count;
        var diagnosis = await diagnoser.DiagnoseAsync(incident, CancellationToken.None);
        var sent = api.Requests.Skip(before).ToArray();

        Assert.Contains(sent, r => r.StartsWith("GET /api/v1/namespaces/shop/serviceaccounts/builder", StringComparison.Ordinal));
        Assert.Contains(sent, r => r.StartsWith("GET /api/v1/namespaces/shop/serviceaccounts/default", StringComparison.Ordinal));
        Assert.Contains(sent, r => r.StartsWith("GET /api/v1/namespaces/shop/secrets/regcred", StringComparison.Ordinal));
        Assert.DoesNotContain(diagnosis.Evidence, e => $"{e.Check} {e.Detail}".Contains("builder", StringComparison.Ordinal) || $"{e.Check} {e.Detail}".Contains("old-login", StringComparison.Ordinal));
        Assert.Equal(Described(ordinary), Described(diagnosis));
    }

    [Fact]
    public async Task The_unattached_secret_for_the_incidents_registry_is_read_beside_the_pod_and_the_card_is_the_same_as_one_read_after_it()
    {
        await using var bed = await OnePodDiagnosedAsync();
        var (api, incident, diagnoser) = (bed.Api, bed.Incident, bed.Diagnoser);
        var unattached = "GET /api/v1/namespaces/shop/secrets/" + DiagnosisPlanner.PullSecretName(registry.Anonymous.Split('/')[0]);
        Assert.Contains(bed.Baseline.Evidence, e => e.Check == "pull secret regcred"); // the pod's own secret does not fit the image, so unattached ones are looked at

        // The ordinary way, as before: an incident naming no image the bot can parse starts no early read, and the
        // unattached secret is read once the pod has answered.
        var before = api.Requests.Count;
        var ordinary = await diagnoser.DiagnoseAsync(incident with { Image = "not an image" }, CancellationToken.None);
        Assert.Single(api.Requests.Skip(before), r => r.Split('?')[0] == unattached);

        // The pod's answer is held until the unattached secret has been asked for: a diagnosis that read it only once it
        // had the pod would never get there (the hold gives up after a minute, and the pod read fails the evidence).
        var secretAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.BeforeServing = request =>
        {
            if (request is { Verb: "get", Resource: "secrets" } && request.Name == DiagnosisPlanner.PullSecretName(registry.Anonymous.Split('/')[0]))
            {
                secretAsked.TrySetResult();
            }

            return request is { Verb: "get", Resource: "pods" } ? secretAsked.Task.WaitAsync(TimeSpan.FromMinutes(1)) : Task.CompletedTask;
        };
        before = api.Requests.Count;
        var early = await diagnoser.DiagnoseAsync(incident, CancellationToken.None);

        Assert.True(secretAsked.Task.IsCompletedSuccessfully);
        Assert.Single(api.Requests.Skip(before), r => r.Split('?')[0] == unattached);
        Assert.Contains(early.Evidence, e => e.Check == "owner chain"); // the pod was read
        Assert.Equal(Described(ordinary), Described(early));
        Assert.Equal(Described(bed.Baseline), Described(early));
    }

    [Fact]
    public async Task An_incident_naming_an_image_on_another_registry_than_its_pods_has_the_unattached_secrets_of_the_pods_registry_looked_at()
    {
        await using var bed = await OnePodDiagnosedAsync();
        var (api, incident, diagnoser) = (bed.Api, bed.Incident, bed.Diagnoser);
        var elsewhere = "other-registry.example.com";
        var wrongName = DiagnosisPlanner.PullSecretName(elsewhere);
        var rightName = DiagnosisPlanner.PullSecretName(registry.Anonymous.Split('/')[0]);
        api.Seed(Remediation.RemediationFlowTests.Secret(wrongName, elsewhere, "someone", "secret"));

        // An incident whose image is on another registry than the pod's (an alert's image, a pod changed since): the
        // reads started for that registry's candidates are dropped, and the candidates for the pod's own image read.
        var before = api.Requests.Count;
        var diagnosis = await diagnoser.DiagnoseAsync(incident with { Image = $"{elsewhere}/team/app:1.4.3" }, CancellationToken.None);
        var sent = api.Requests.Skip(before).Select(r => r.Split('?')[0]).ToArray();

        Assert.Contains($"GET /api/v1/namespaces/shop/secrets/{rightName}", sent);
        Assert.DoesNotContain(diagnosis.Evidence, e => $"{e.Check} {e.Detail}".Contains(wrongName, StringComparison.Ordinal) || $"{e.Check} {e.Detail}".Contains(elsewhere, StringComparison.Ordinal));
        Assert.Equal(Described(bed.Baseline), Described(diagnosis));
    }

    [Fact]
    public async Task The_watcher_and_the_diagnoses_walk_owners_through_one_cache_so_the_replicaset_is_read_once()
    {
        await using var bed = await OnePodDiagnosedAsync();

        // The watcher resolved the pod's owners for its report, the start-up warm-up and two diagnoses walked them again:
        // the ReplicaSet was read once, so a diagnosis's owner walk adds no round after the pod read.
        _ = await bed.Diagnoser.DiagnoseAsync(bed.Incident, CancellationToken.None);

        Assert.Single(bed.Api.Requests, r => r.StartsWith("GET /apis/apps/v1/namespaces/shop/replicasets/web-6b9f7c5d8", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Diagnoses_asked_for_before_a_read_of_their_node_was_sent_share_it_and_one_asked_for_after_it_does_not()
    {
        await using var bed = await OnePodDiagnosedAsync();
        var (api, incident, diagnoser) = (bed.Api, bed.Incident, bed.Diagnoser);

        // Node reads are held until all three diagnoses have started: the first sends the read, the second (asked for
        // before it was sent) joins it, the third (asked for after it was sent) sends its own.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.BeforeServing = request => request is { Verb: "get", Resource: "nodes" } ? release.Task.WaitAsync(TimeSpan.FromMinutes(1)) : Task.CompletedTask;
        const string node = "GET /api/v1/nodes/worker-1";
        var nodeReadsBefore = api.Requests.Count(r => r == node);
        var askedAt = ChatOpsPull.Kubernetes.SharedReads.Now();
        var first = diagnoser.DiagnoseAsync(incident, askedAt, CancellationToken.None);
        var second = diagnoser.DiagnoseAsync(incident, askedAt, CancellationToken.None);
        var sentBy = ChatOpsPull.Kubernetes.SharedReads.Now();
        SpinWait.SpinUntil(() => ChatOpsPull.Kubernetes.SharedReads.Now() > sentBy);
        var third = diagnoser.DiagnoseAsync(incident, ChatOpsPull.Kubernetes.SharedReads.Now(), CancellationToken.None);
        release.SetResult();
        var diagnoses = await Task.WhenAll(first, second, third);

        Assert.Equal(2, api.Requests.Count(r => r == node) - nodeReadsBefore);
        Assert.All(diagnoses, d => Assert.Equal(Described(bed.Baseline), Described(d)));
    }

    /// <summary>
    /// One failing pod's incident diagnosed in process and settled, and a diagnosis of it made the ordinary way just now
    /// (<see cref="DiagnosedBed.Baseline"/>: the registry's answers reused as by the diagnoses the test makes next).
    /// </summary>
    private async Task<DiagnosedBed> OnePodDiagnosedAsync()
    {
        var api = await FakeKubernetesApi.StartAsync();
        SeedWorkload(api, $"{registry.Anonymous}/team/app:1.4.3", pods: 1, diskPressure: false);
        var storage = TestStorage.Sqlite();
        var host = new BotTestHost(storage, Settings(api));
        try
        {
            var incident = await SettledDiagnosisAsync(host);
            var diagnoser = host.Services.GetRequiredService<Diagnosing.EvidenceDiagnoser>();
            return new DiagnosedBed(api, storage, host, incident, diagnoser, await diagnoser.DiagnoseAsync(incident, CancellationToken.None));
        }
        catch
        {
            await host.DisposeAsync();
            storage.Dispose();
            await api.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The names the watcher handed on for the bed's pod, then a diagnosis made the ordinary way: with nothing handed on
    /// (an alert's incident), the ServiceAccount and the secrets are read once the pod has answered. The names stay forgotten.
    /// </summary>
    private static async Task<(ChatOpsPull.Kubernetes.ReportedPodCredentials Reported, string Pod, ChatOpsPull.Kubernetes.PodCredentialNames? Names, Diagnosis Ordinary)> OrdinaryDiagnosisAsync(DiagnosedBed bed)
    {
        var reported = bed.Host.Services.GetRequiredService<ChatOpsPull.Kubernetes.ReportedPodCredentials>();
        var pod = bed.Incident.Pods.Single().Pod;
        var names = reported.Find("prod-eu", "shop", pod);
        reported.Forget("prod-eu", "shop", pod);
        return (reported, pod, names, await bed.Diagnoser.DiagnoseAsync(bed.Incident, CancellationToken.None));
    }

    private sealed record DiagnosedBed(FakeKubernetesApi Api, TestStorage Storage, BotTestHost Host, Incident Incident, Diagnosing.EvidenceDiagnoser Diagnoser, Diagnosis Baseline) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Storage.Dispose();
            await Api.DisposeAsync();
        }
    }

    /// <summary>What a card shows of a diagnosis: cause, summary, evidence (without the time each read took) and the fixes offered.</summary>
    private static string Described(Diagnosis diagnosis) => string.Join(
        "\n",
        new[] { $"{diagnosis.Cause} {diagnosis.Confidence} {diagnosis.Summary}" }
            .Concat(diagnosis.Evidence.Select(e => $"{e.Check} | {e.Outcome} | {e.Detail}"))
            .Concat(diagnosis.Remediations.Select(r => $"{r.Kind} {r.WorkloadKind}/{r.WorkloadName} {r.Title}")));

    /// <summary>The one open incident in prod-eu/shop, once it is diagnosed.</summary>
    /// <summary>The diagnosed incident once no diagnosis is left in process: what the stand-in sees afterwards is the test's own.</summary>
    private static async Task<Incident> SettledDiagnosisAsync(BotTestHost host)
    {
        var incident = await DiagnosedIncidentAsync(host);
        var scheduler = host.Services.GetRequiredService<Diagnosing.InProcessDiagnosisScheduler>();
        await Eventually.HoldsAsync(() => scheduler.Pending == 0, "no diagnosis left in process", TimeSpan.FromSeconds(60));
        return incident;
    }

    private static async Task<Incident> DiagnosedIncidentAsync(BotTestHost host)
    {
        var store = host.Services.GetRequiredService<IncidentStore>();
        Incident? incident = null;
        await Eventually.HoldsAsync(
            () => (incident = store.ListOpenAsync("prod-eu", "shop").GetAwaiter().GetResult().SingleOrDefault()) is { State: IncidentState.Diagnosed },
            "a diagnosed incident",
            TimeSpan.FromSeconds(60));
        return incident!;
    }

    private Dictionary<string, string?> Settings(FakeKubernetesApi api) => new()
    {
        ["Bot:Cluster"] = "prod-eu",
        ["Kubernetes:KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(_directory, "kube"), contextNamespace: "shop"),
        ["Kubernetes:Namespaces:0"] = "shop",
        ["Registry:Hosts:0:Host"] = registry.Anonymous,
        ["Registry:Hosts:0:PlainHttp"] = "true",
    };

    /// <summary>The fixture's web Deployment, ReplicaSet and failing pods, pointed at <paramref name="image"/>.</summary>
    private static void SeedWorkload(FakeKubernetesApi api, string image, int pods, bool diskPressure = true, string? message = null)
    {
        api.Seed(diskPressure ? KubeFixtures.Load("node-worker-1.json") : WithoutDiskPressure(KubeFixtures.Load("node-worker-1.json")));
        api.Seed(WithImage(KubeFixtures.Load("deployment-web.json"), image));
        api.Seed(WithImage(KubeFixtures.Load("replicaset-web.json"), image));
        for (var i = 0; i < pods; i++)
        {
            var pod = WithImage(KubeFixtures.WebPod($"web-6b9f7c5d8-e2e{i:00}"), image);
            api.Seed(pod);
            api.Seed(KubeFixtures.FailedEventFor(pod, message ?? $"Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"));
        }
    }

    /// <summary>The fixture node (which reports DiskPressure) with the condition cleared.</summary>
    private static JsonObject WithoutDiskPressure(JsonObject node)
    {
        foreach (var condition in node["status"]!["conditions"]!.AsArray())
        {
            if (condition!["type"]!.GetValue<string>() == "DiskPressure")
            {
                condition["status"] = "False";
            }
        }

        return node;
    }

    private static JsonObject WithImage(JsonObject obj, string image) =>
        (JsonObject)JsonNode.Parse(obj.ToJsonString().Replace("registry.example.com/shop/web:1.4.3-typo", image, StringComparison.Ordinal))!;

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
