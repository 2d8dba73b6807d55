using System.Globalization;
using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Tests.Remediation;

/// <summary>
/// The parts remediation tests share, started once for the collection: a real PostgreSQL 15 and the real registries
/// (anonymous, htpasswd, TLS, token) with pushed images.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RemediationParts : ICollectionFixture<PostgresFixture>, ICollectionFixture<RegistryFixture>
{
    public const string Name = "Remediation";
}

/// <summary>The people of the tests: who asks, who may approve (per Approvals:Rules of <see cref="RemediationBed"/>).</summary>
public static class People
{
    /// <summary>Asks for fixes; not an approver.</summary>
    public static readonly ChatUser Alice = new(ChatPlatform.Slack, "U0ALICE01", "alice", []);

    /// <summary>Approver (listed by Slack id).</summary>
    public static readonly ChatUser Bob = new(ChatPlatform.Slack, "U0BOB0001", "bob", []);

    /// <summary>Approver in Teams (listed by AAD object id).</summary>
    public static readonly ChatUser Carol = new(ChatPlatform.Teams, "5f1d7c2a-0000-4000-8000-00000000ca01", "carol", []);

    /// <summary>Approver through the web group "web:oncall" (Approvals:GroupMembers).</summary>
    public static readonly ChatUser Dave = new(ChatPlatform.Web, "dave", "dave", []);

    /// <summary>Not an approver anywhere.</summary>
    public static readonly ChatUser Mallory = new(ChatPlatform.Slack, "U0MALLORY", "mallory", []);
}

/// <summary>Diagnoses incidents with the real planner from facts a test sets (the registry/cluster gatherer is not this capability's).</summary>
public sealed class ScriptedDiagnoser : IIncidentDiagnoser
{
    public Func<Incident, Core.Diagnoses.Diagnosis>? Script { get; set; }

    public Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken) =>
        Task.FromResult(Script?.Invoke(incident) ?? throw new InvalidOperationException("no diagnosis scripted for " + incident.Id));
}

/// <summary>
/// One bot host (the real one: Program → BotHost) on a test storage, pointed by kubeconfig at a fake Kubernetes API
/// server, with approval rules for namespace "shop" (approvers bob, carol, the web group oncall; alice and mallory are
/// not), fast rollout polling and a short deadline. A second bed on the same storage and API is a restart or a replica.
/// </summary>
public sealed class RemediationBed : IAsyncDisposable
{
    public const string Namespace = "shop";
    public const string Cluster = "prod";

    private readonly bool _ownsApi;
    private readonly string _kubeDirectory;

    private RemediationBed(FakeKubernetesApi api, bool ownsApi, BotTestHost host, string kubeDirectory, ScriptedDiagnoser diagnoser)
    {
        Api = api;
        _ownsApi = ownsApi;
        Host = host;
        _kubeDirectory = kubeDirectory;
        Diagnoser = diagnoser;
    }

    public FakeKubernetesApi Api { get; }

    public BotTestHost Host { get; }

    public ScriptedDiagnoser Diagnoser { get; }

    public IChatActionHandler Handler => Get<IChatActionHandler>();

    public static Dictionary<string, string?> DefaultSettings(string kubeconfig, RegistryFixture? registry) => new()
    {
        ["Bot:Cluster"] = Cluster,
        ["Kubernetes:KubeconfigPath"] = kubeconfig,
        ["Kubernetes:WatchEnabled"] = "false",
        ["Kubernetes:Lease:Enabled"] = "false",
        ["Approvals:Rules:0:Cluster"] = "prod*",
        ["Approvals:Rules:0:Namespace"] = Namespace,
        ["Approvals:Rules:0:Approvers:0"] = "slack:" + People.Bob.Id,
        ["Approvals:Rules:0:Approvers:1"] = "teams:" + People.Carol.Id,
        ["Approvals:Rules:0:ApproverGroups:0"] = "web:oncall",
        ["Approvals:Rules:0:Required"] = "1",
        ["Approvals:GroupMembers:0:Group"] = "web:oncall",
        ["Approvals:GroupMembers:0:Members:0"] = People.Dave.Id,
        ["Remediation:RolloutDeadline"] = "00:00:20",
        ["Remediation:RolloutPollInterval"] = "00:00:00.100",
        ["Remediation:ApiBaseDelay"] = "00:00:00.020",
        ["Remediation:ApiMaxDelay"] = "00:00:00.200",
        ["Remediation:LeaseDuration"] = "00:00:30",
        ["Jobs:SqlitePollInterval"] = "00:00:00.100",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Microsoft"] = "Warning",
        ["Logging:LogLevel:Hangfire"] = "Warning",
        ["Registry:ConnectTimeout"] = "00:00:02",
        ["Registry:CacheWindow"] = "00:00:00",
        ["Registry:Hosts:0:Host"] = registry?.Anonymous ?? "127.0.0.1:1",
        ["Registry:Hosts:0:PlainHttp"] = "true",
        ["Registry:Hosts:1:Host"] = registry?.Basic ?? "127.0.0.1:2",
        ["Registry:Hosts:1:PlainHttp"] = "true",
    };

    /// <param name="api">An API server another bed started (a restart or second replica on the same cluster), or null for a new one.</param>
    /// <param name="scriptedDiagnosis">Diagnose with <see cref="Diagnoser"/>'s script (the default), or with the bot's own
    /// evidence diagnoser against the fake API server and the registries (false).</param>
    /// <param name="replicaOf">A bed this one is a second replica of (same storage): it shares that bed's
    /// <see cref="Diagnoser"/>, since a diagnosis job one replica enqueues may run on either.</param>
    public static async Task<RemediationBed> StartAsync(
        TestStorage storage,
        RegistryFixture? registry = null,
        Dictionary<string, string?>? settings = null,
        FakeKubernetesApi? api = null,
        Action<IServiceCollection>? services = null,
        bool scriptedDiagnosis = true,
        RemediationBed? replicaOf = null)
    {
        var ownsApi = api is null;
        api ??= await FakeKubernetesApi.StartAsync();
        if (ownsApi)
        {
            api.Seed(new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ServiceAccount",
                ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = Namespace },
            });
        }

        var kubeDirectory = Path.Combine(Path.GetTempPath(), "chatopspull-remediation-" + Guid.NewGuid().ToString("N")[..10]);
        var kubeconfig = api.WriteKubeconfig(kubeDirectory, contextNamespace: "chatopspull");
        var all = DefaultSettings(kubeconfig, registry);
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var diagnoser = replicaOf?.Diagnoser ?? new ScriptedDiagnoser();
        var host = new BotTestHost(storage, all, s =>
        {
            if (scriptedDiagnosis)
            {
                s.RemoveAll<IIncidentDiagnoser>();
                s.AddSingleton<IIncidentDiagnoser>(diagnoser);
            }

            services?.Invoke(s);
        });
        var bed = new RemediationBed(api, ownsApi, host, kubeDirectory, diagnoser);
        try
        {
            _ = host.Services; // start it: migrations, Hangfire server
        }
        catch
        {
            await bed.DisposeAsync(); // a host that refused to start (a test of start-up checks) leaves nothing running
            throw;
        }

        return bed;
    }

    public T Get<T>()
        where T : notnull => Host.Services.GetRequiredService<T>();

    public Task<ChatReply> ClickAsync(ChatUser user, CardVerb verb, string target, string? argument = null) =>
        Handler.HandleAsync(new ChatActionRequest(user, new CardActionPayload(verb, target, argument), "C0SHOP", null), CancellationToken.None);

    /// <summary>A Deployment shaped as the fixture's (kubectl get -o json), renamed, one container "app" with the image.</summary>
    public static JsonObject Deployment(string name, string image, int replicas, string? pullSecret = null)
    {
        var deployment = KubeFixtures.Load("deployment-web.json");
        deployment.Remove("status");
        var metadata = (JsonObject)deployment["metadata"]!;
        foreach (var field in new[] { "resourceVersion", "uid", "generation", "annotations", "creationTimestamp" })
        {
            metadata.Remove(field);
        }

        metadata["name"] = name;
        metadata["labels"] = new JsonObject { ["app"] = name };
        var spec = deployment["spec"]!;
        spec["replicas"] = replicas;
        spec["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } };
        spec["template"]!["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } };
        var podSpec = (JsonObject)spec["template"]!["spec"]!;
        var container = (JsonObject)podSpec["containers"]![0]!;
        container["name"] = "app";
        container["image"] = image;
        podSpec.Remove("imagePullSecrets");
        if (pullSecret is not null)
        {
            podSpec["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = pullSecret });
        }

        return deployment;
    }

    /// <summary>Seeds the Deployment (the fake controller creates its ReplicaSet and pods) and makes its pods fail to pull.</summary>
    public IReadOnlyList<string> SeedFailingDeployment(string name, string image, int replicas = 2, string? pullSecret = null)
    {
        Api.Seed(Deployment(name, image, replicas, pullSecret));
        var pods = PodsOf(name).Select(ObjectStore.Name).ToList();
        foreach (var pod in pods)
        {
            Api.SetContainerWaiting(Namespace, pod, "app", "ImagePullBackOff", $"Back-off pulling image \"{image}\"");
        }

        return pods;
    }

    public IReadOnlyList<JsonObject> PodsOf(string deployment) =>
        Api.Store.List(ResourceType.Of("pods"), Namespace).Where(p => p["metadata"]?["labels"]?["app"]?.GetValue<string>() == deployment).ToList();

    public JsonObject DeploymentObject(string name) => Api.Store.Get(ResourceType.Of("deployments"), Namespace, name)!;

    public static string ImageOf(JsonObject deployment) => deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    public static long Generation(JsonObject obj) => ObjectStore.Number(obj["metadata"]?["generation"]) ?? 0;

    /// <summary>Reports each failing pod of the Deployment to the engine and waits for the scripted diagnosis.</summary>
    /// <param name="cluster">The cluster the failures are in (a fleet test's bot has its own; <see cref="Cluster"/> otherwise).</param>
    public async Task<Incident> OpenIncidentAsync(string deployment, string image, Func<Incident, Core.Diagnoses.Diagnosis> diagnose, string message = "rpc error: code = NotFound desc = failed to pull and unpack image: not found", string cluster = Cluster)
    {
        Diagnoser.Script = diagnose;
        var engine = Get<IncidentEngine>();
        foreach (var pod in PodsOf(deployment))
        {
            var name = ObjectStore.Name(pod);
            await engine.ReportAsync(
                new PullFailure(FailureSource.KubernetesWatch, cluster, Namespace, name, "app", ContainerKind.Regular, image, "ErrImagePull", message, DateTimeOffset.UtcNow)
                {
                    Workload = new WorkloadRef("Deployment", deployment),
                },
                CancellationToken.None);
        }

        var store = Get<IncidentStore>();
        var id = (await store.ListOpenAsync(cluster, Namespace)).Single(i => i.Workload?.Name == deployment).Id;
        return await Eventually.ValueAsync(async () => (await store.GetAsync(id))!, i => i.Diagnosis is not null, $"{id} to be diagnosed");
    }

    public async Task<RunRecord> WaitForRunAsync(string approvalId, Func<RunRecord, bool>? until = null, TimeSpan? timeout = null)
    {
        var runs = Get<RemediationRunStore>();
        return (await Eventually.ValueAsync(
            async () => await runs.GetAsync(approvalId),
            r => r is not null && (until?.Invoke(r) ?? r.Run.IsFinished),
            $"run {approvalId}",
            timeout ?? TimeSpan.FromSeconds(40)))!;
    }

    /// <summary>The approval id the card shows for a pending request of the plan (from the Approve button).</summary>
    public static string ApprovalIdOn(Card card, string planTitle) =>
        card.Actions.Single(a => a.Payload.Verb == CardVerb.Approve && a.Label == $"Approve: {planTitle}").Payload.Target;

    public async Task<string> PendingIdAsync(string incidentId, RemediationKind kind) =>
        (await Get<IApprovalQueries>().ListForIncidentAsync(incidentId, CancellationToken.None))
            .Single(r => r.Plan.Kind == kind && r.Status == Core.Approvals.ApprovalStatus.Pending).Id;

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        if (_ownsApi)
        {
            await Api.DisposeAsync();
        }

        try
        {
            Directory.Delete(_kubeDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Diagnosis facts for the planner, as the evidence gatherer would find them.</summary>
public static class Facts
{
    public static DiagnosisFacts For(
        Incident incident,
        RegistryFacts? registry,
        PullSecretFacts? secrets = null,
        bool credentialSource = false,
        (int Revision, string Image)? previous = null,
        string reason = "ErrImagePull")
    {
        var image = ImageReference.TryParse(incident.Image, out var parsed, out var error) ? parsed : null;
        return new DiagnosisFacts(
            incident.Key.Cluster,
            incident.Key.Namespace,
            incident.Image,
            image,
            error,
            reason,
            incident.Pods.Count > 0 ? incident.Pods[0].Message : string.Empty,
            incident.Workload,
            "app",
            "default",
            null,
            false,
            null,
            secrets ?? new PullSecretFacts([], [], null, [], true),
            registry,
            credentialSource,
            previous);
    }

    /// <summary>The tag is missing; the registry suggests <paramref name="tags"/>; revision 1 had <paramref name="previous"/>.</summary>
    public static Func<Incident, Core.Diagnoses.Diagnosis> TagMissing(string[] tags, (int, string)? previous = null) => incident =>
        DiagnosisPlanner.Plan(
            For(incident, new RegistryFacts(PullCause.ImageNotFound, "manifest unknown", tags, null, []), previous: previous),
            [new Evidence($"manifest {incident.Image}", EvidenceOutcome.Failed, "404 MANIFEST_UNKNOWN")],
            DateTimeOffset.UtcNow);

    /// <summary>The registry serves the image now (the failure was transient): retry plans, and evidence that confirms it.</summary>
    public static Func<Incident, Core.Diagnoses.Diagnosis> PullableNow(bool manifestPassed = true) => incident =>
        DiagnosisPlanner.Plan(
            For(incident, new RegistryFacts(null, "pullable", [], null, []), reason: "ImagePullBackOff"),
            [new Evidence("manifest team/app", manifestPassed ? EvidenceOutcome.Passed : EvidenceOutcome.Failed, manifestPassed ? "application/vnd.oci.image.manifest.v1+json, digest sha256:…" : "503")],
            DateTimeOffset.UtcNow);

    /// <summary>The registry refuses the pod's credentials: a secret for the host exists but is not attached; a credential source may be configured.</summary>
    public static Func<Incident, Core.Diagnoses.Diagnosis> CredentialsRefused(string? unattached, string? matching = null, bool credentialSource = false) => incident =>
        DiagnosisPlanner.Plan(
            For(
                incident,
                new RegistryFacts(PullCause.AuthFailed, "401 UNAUTHORIZED", [], null, []),
                new PullSecretFacts(matching is null ? [] : [matching], [], matching, unattached is null ? [] : [unattached], true),
                credentialSource),
            [new Evidence($"manifest {incident.Image}", EvidenceOutcome.Failed, "401 UNAUTHORIZED")],
            DateTimeOffset.UtcNow);

    public static RemediationPlan Plan(Incident incident, RemediationKind kind) =>
        incident.Diagnosis!.Remediations.First(p => p.Kind == kind);

    public static string Revision(int revision) => revision.ToString(CultureInfo.InvariantCulture);
}
