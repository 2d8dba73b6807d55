using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Cli;
using ChatOpsPull.Cli.Demo;
using ChatOpsPull.Configuration;
using ChatOpsPull.Simulation.Kubelet;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Simulation.Registry;
using ChatOpsPull.Web;
using k8s;

namespace ChatOpsPull.Hosting;

/// <summary>
/// <c>chatopspull demo --simulate</c>: the whole loop without a cluster. Starts, inside this process and on loopback only,
/// the Kubernetes API stand-in (with its workload controllers and a <see cref="SimulatedKubelet"/>) and an
/// <see cref="InMemoryRegistry"/>; seeds namespace chatopspull-demo with the three workloads the real-cluster demo
/// creates (pointed at that registry); and runs the real bot against them over HTTP with a generated kubeconfig, the
/// embedded SQLite database in a fresh data directory, and the web page with one sign-in (user "demo", a password made
/// for this run) who may approve fixes in that namespace (asking counts as approving: one person runs the demo). The cluster is named "simulated" and every card says so.
/// </summary>
public sealed class SimulatedDemo : IAsyncDisposable
{
    public const string User = "demo";
    public const string PullSecret = "simulated-registry";
    private const string PullUser = "demo-puller";

    /// <summary>Settings a simulated demo sets itself; given on the command line they are refused, not overridden silently.</summary>
    private static readonly string[] Reserved = ["--Kubernetes:", "--Fleet:", "--Bot:Cluster", "--Bot:Simulation", "--kubeconfig", "--context", "-n", "--namespace", "--clean"];

    private readonly string _ownDirectory;

    private SimulatedDemo(FakeKubernetesApi api, InMemoryRegistry registry, SimulatedKubelet kubelet, WebApplication app, string password, string dataDirectory, string ownDirectory)
    {
        Api = api;
        Registry = registry;
        Kubelet = kubelet;
        App = app;
        Password = password;
        DataDirectory = dataDirectory;
        _ownDirectory = ownDirectory;
    }

    public FakeKubernetesApi Api { get; }

    public InMemoryRegistry Registry { get; }

    public SimulatedKubelet Kubelet { get; }

    public WebApplication App { get; }

    /// <summary>The web page's password for <see cref="User"/>, made for this run.</summary>
    public string Password { get; }

    public string DataDirectory { get; }

    public static string Namespace => DemoWorkloads.DefaultNamespace;

    /// <summary>The problem with these arguments for a simulated demo, or null.</summary>
    public static string? Problem(IEnumerable<string> args) =>
        args.FirstOrDefault(a => Reserved.Any(r => a == r || a.StartsWith(r.EndsWith(':') ? r : r + "=", StringComparison.OrdinalIgnoreCase) || a.StartsWith(r + ":", StringComparison.OrdinalIgnoreCase))) is { } refused
            ? $"'{refused}' cannot be combined with the simulated cluster: it sets its own cluster, kubeconfig and namespace, and never runs with real Kubernetes credentials or in fleet mode"
            : ConfigurationArguments.Problem([.. args]);

    /// <summary>Starts the simulation and the bot (not waiting for it to stop).</summary>
    /// <param name="args">The bot's own options (--urls, --Section:Key=value), e.g. Slack or Teams settings to see the cards there too.</param>
    public static async Task<SimulatedDemo> StartAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (Problem(args) is { } problem)
        {
            throw new ArgumentException(problem, nameof(args));
        }

        var ownDirectory = Directory.CreateTempSubdirectory("chatopspull-demo-").FullName;
        var api = await FakeKubernetesApi.StartAsync().ConfigureAwait(false);
        var registry = await InMemoryRegistry.StartAsync().ConfigureAwait(false);
        var pullPassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        Seed(api, registry, pullPassword);
        var kubelet = new SimulatedKubelet(api, registry, [Namespace]);

        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var kubeconfig = api.WriteKubeconfig(Path.Combine(ownDirectory, "kube"), contextNamespace: Namespace);
        var dataDirectory = args.Any(a => a.StartsWith("--Bot:DataDirectory", StringComparison.OrdinalIgnoreCase)) ? string.Empty : Path.Combine(ownDirectory, "data");
        string[] settings =
        [
            // Quieter than a server's defaults, so the terminal shows the demo's own lines; the person's options come after.
            "--Logging:LogLevel:Polly=Warning",
            "--Logging:LogLevel:System.Net.Http.HttpClient=Warning",
            "--Logging:LogLevel:Microsoft.AspNetCore=Warning",
            .. args,
            $"--{BotOptions.Section}:Cluster={BotOptions.SimulatedCluster}",
            $"--{BotOptions.Section}:Simulation=true",
            .. dataDirectory.Length > 0 ? [$"--Bot:DataDirectory={dataDirectory}"] : Array.Empty<string>(),
            $"--Kubernetes:KubeconfigPath={kubeconfig}",
            $"--Kubernetes:Namespaces:0={Namespace}",
            "--Kubernetes:Lease:Enabled=false",
            // The bot never lists Secrets: it finds the demo's unattached pull secret by the name an operator would configure.
            $"--Kubernetes:PullSecretNames:0={PullSecret}",
            $"--Registry:Hosts:0:Host={registry.Host}",
            "--Registry:Hosts:0:PlainHttp=true",
            "--Registry:CacheWindow=00:00:00",
            $"--Web:Users:0:Name={User}",
            $"--Web:Users:0:PasswordHash={PasswordHash.Hash(password, PasswordHash.MinimumIterations)}",
            "--Web:Page:RefreshInterval=00:00:02",
            $"--Approvals:Rules:0:Cluster={BotOptions.SimulatedCluster}",
            $"--Approvals:Rules:0:Namespace={Namespace}",
            $"--Approvals:Rules:0:Approvers:0=web:{User}",
            "--Approvals:Rules:0:Required=1",
            // One person runs the demo: asking for a fix is their approval (Approvals:Rules:*:AllowSelfApproval).
            "--Approvals:Rules:0:AllowSelfApproval=true",
            "--Remediation:RolloutPollInterval=00:00:01",
        ];

        WebApplication? app = null;
        try
        {
            app = BotHost.Build(settings);
            await app.StartAsync().ConfigureAwait(false);
            return new SimulatedDemo(api, registry, kubelet, app, password, dataDirectory.Length > 0 ? dataDirectory : "(Bot:DataDirectory)", ownDirectory);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            await kubelet.DisposeAsync().ConfigureAwait(false);
            await registry.DisposeAsync().ConfigureAwait(false);
            await api.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The verb: starts, says where to look, runs until Ctrl+C.</summary>
    public static async Task<int> RunAsync(string[] args, CliIo io)
    {
        ArgumentNullException.ThrowIfNull(io);
        if (Problem(args) is { } problem)
        {
            await io.Error.WriteLineAsync($"chatopspull demo --simulate: {problem}.").ConfigureAwait(false);
            return 2;
        }

        SimulatedDemo demo;
        try
        {
            demo = await StartAsync(args).ConfigureAwait(false);
        }
        catch (Exception e) when (StartupProblems.Describe(e) is { } sentences)
        {
            await io.Error.WriteLineAsync("chatopspull: the configuration is not valid, so the simulated demo did not start:").ConfigureAwait(false);
            foreach (var sentence in sentences)
            {
                await io.Error.WriteLineAsync("  " + sentence).ConfigureAwait(false);
            }

            return StartupProblems.InvalidConfigurationExitCode;
        }

        await using (demo.ConfigureAwait(false))
        {
            var o = io.Out;
            var url = demo.App.Urls.FirstOrDefault() ?? HostDefaults.DefaultUrl;
            await o.WriteLineAsync("SIMULATED CLUSTER — nothing real. The Kubernetes API, the node's kubelet and the registry run inside this process on loopback;").ConfigureAwait(false);
            await o.WriteLineAsync($"the bot watches cluster \"{BotOptions.SimulatedCluster}\" and every card says so. Data (SQLite): {demo.DataDirectory}").ConfigureAwait(false);
            await o.WriteLineAsync().ConfigureAwait(false);
            await o.WriteLineAsync($"Namespace {Namespace} has three Deployments that cannot pull their images (registry {demo.Registry.Host}):").ConfigureAwait(false);
            foreach (var workload in DemoWorkloads.All)
            {
                await o.WriteLineAsync($"  {workload.Name,-14} {SimulatedImage(workload, demo.Registry.Host),-50} {workload.Why}").ConfigureAwait(false);
            }

            await o.WriteLineAsync().ConfigureAwait(false);
            await o.WriteLineAsync($"Open {url}/ and sign in as {User} / {demo.Password}: one card per workload within seconds. Click a fix (you are the").ConfigureAwait(false);
            await o.WriteLineAsync("approver: asking approves it) and watch the job patch the Deployment, the pods roll and become Ready, and the incident resolve.").ConfigureAwait(false);
            await o.WriteLineAsync("Stop with Ctrl+C: nothing is left behind but the data directory.").ConfigureAwait(false);
            await demo.App.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>The demo workload's image, on the simulated registry instead of its public one.</summary>
    public static string SimulatedImage(DemoWorkload workload, string registryHost)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return registryHost + "/" + workload.Image.Split('/', 2)[1];
    }

    private static void Seed(FakeKubernetesApi api, InMemoryRegistry registry, string pullPassword)
    {
        // The missing tag 0.0.0-chatopspull-demo has neighbours in its own line, so the card can suggest a tag to set.
        registry.AddRepository("library/nginx", ["0.1.0-chatopspull-demo", "0.2.0-chatopspull-demo", "1.27.4", "1.28.0", "latest"]);
        registry.AddRepository("chatopspull/private-demo", ["1.0.0", "1.0.1"], PullUser, pullPassword);

        var node = SimulatedKubelet.NodeName;
        api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject
            {
                ["name"] = node,
                ["labels"] = new JsonObject { ["kubernetes.io/hostname"] = node, ["kubernetes.io/os"] = "linux", ["kubernetes.io/arch"] = "amd64" },
            },
            ["status"] = new JsonObject
            {
                ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = "10.0.0.11" }, new JsonObject { ["type"] = "Hostname", ["address"] = node }),
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True", ["reason"] = "KubeletReady", ["message"] = "kubelet is posting ready status" }),
                ["nodeInfo"] = new JsonObject
                {
                    ["architecture"] = "amd64",
                    ["operatingSystem"] = "linux",
                    ["kubeletVersion"] = "v1.33.0",
                    ["containerRuntimeVersion"] = "containerd://1.7.24",
                    ["osImage"] = "Simulated by chatopspull demo --simulate",
                    ["kernelVersion"] = "6.1.0",
                },
            },
        });
        api.Seed(Json(DemoWorkloads.Namespace(Namespace)));
        api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = Namespace } });

        // The credentials the private image needs, as a pull secret nothing references yet: the bot can offer to use it.
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{PullUser}:{pullPassword}"));
        var dockerConfig = new JsonObject { ["auths"] = new JsonObject { [registry.Host] = new JsonObject { ["username"] = PullUser, ["password"] = pullPassword, ["auth"] = auth } } };
        api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["type"] = "kubernetes.io/dockerconfigjson",
            ["metadata"] = new JsonObject { ["name"] = PullSecret, ["namespace"] = Namespace, ["labels"] = new JsonObject { [DemoWorkloads.LabelKey] = DemoWorkloads.LabelValue } },
            ["data"] = new JsonObject { [".dockerconfigjson"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(dockerConfig.ToJsonString())) },
        });

        foreach (var workload in DemoWorkloads.All)
        {
            var deployment = DemoWorkloads.Deployment(workload, Namespace);
            deployment.Spec.Template.Spec.Containers[0].Image = SimulatedImage(workload, registry.Host);
            api.Create(Json(deployment), manager: "chatopspull-demo");
        }
    }

    private static JsonObject Json(object value) => JsonNode.Parse(KubernetesJson.Serialize(value))!.AsObject();

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
        await Kubelet.DisposeAsync().ConfigureAwait(false);
        await Registry.DisposeAsync().ConfigureAwait(false);
        await Api.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(Path.Combine(_ownDirectory, "kube"), recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory.
        }
    }
}
