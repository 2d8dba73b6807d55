using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>
/// One API stand-in shared by the kubectl conformance tests, checked by a client the project did not write: the
/// kubectl on PATH (the machine image's gcloud dispatcher picks the kubectl that matches the server's 1.33; where there is
/// none or an older one, .ci/install-deps puts kubectl 1.33 in /usr/local/bin). The
/// stand-in authorizes with RBAC; kubectl talks as a cluster administrator (system:masters) through a kubeconfig in a
/// temp directory, with its discovery cache and HOME there too, never the user's. Each test works in its own namespace.
/// </summary>
public sealed class KubectlStandIn : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chatopspull-kubectl-").FullName;
    private int _namespaces;

    public FakeKubernetesApi Api { get; private set; } = null!;

    public string Kubeconfig { get; private set; } = null!;

    public static string Executable => "kubectl";

    public async Task InitializeAsync()
    {
        Api = await FakeKubernetesApi.StartAsync(https: true);
        Api.UseRbac();
        Api.Seed(KubeFixtures.Load("node-worker-1.json"));
        Kubeconfig = Api.WriteKubeconfig(Path.Combine(_directory, "kube"), token: FakeKubernetesApi.AdminToken);
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A namespace of its own for one test ("kc-3-rollout").</summary>
    public string Namespace(string purpose)
    {
        var name = $"kc-{Interlocked.Increment(ref _namespaces)}-{purpose}";
        Api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = name } });
        return name;
    }

    /// <summary>A file in the temp directory (a manifest for apply -f).</summary>
    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Runs kubectl against the stand-in and returns how it ended and what it printed.</summary>
    public Task<CommandResult> RunAsync(params string[] arguments) => RunAsync(TimeSpan.FromSeconds(60), arguments);

    public Task<CommandResult> RunAsync(TimeSpan timeout, params string[] arguments) =>
        ExternalProcess.CaptureAsync(Executable, [.. CommonArguments(), .. arguments], Environment(), timeout, _directory);

    /// <summary>Starts a long-running kubectl (get -w); its output is read as it comes.</summary>
    public ExternalProcess Start(params string[] arguments) =>
        ExternalProcess.Start(Executable, [.. CommonArguments(), .. arguments], _directory, Environment().Where(e => e.Value is not null).ToDictionary(e => e.Key, e => e.Value!));

    private string[] CommonArguments() => ["--kubeconfig", Kubeconfig, "--cache-dir", Path.Combine(_directory, "cache")];

    private Dictionary<string, string?> Environment() => new()
    {
        ["HOME"] = _directory,
        ["KUBECONFIG"] = Kubeconfig,
        ["KUBECACHEDIR"] = Path.Combine(_directory, "cache"),
        ["CLOUDSDK_CONFIG"] = Path.Combine(_directory, "gcloud"),
        ["HTTP_PROXY"] = null,
        ["HTTPS_PROXY"] = null,
        ["http_proxy"] = null,
        ["https_proxy"] = null,
        ["NO_PROXY"] = "127.0.0.1,localhost",
        ["NO_COLOR"] = "1",
        ["KUBECTL_INTERACTIVE_DELETE"] = null,
    };
}

[CollectionDefinition(Name)]
public sealed class KubectlConformance : ICollectionFixture<KubectlStandIn>
{
    public const string Name = "kubectl against the API stand-in";
}
