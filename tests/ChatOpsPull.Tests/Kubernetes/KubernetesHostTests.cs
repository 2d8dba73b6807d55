using System.Collections.Concurrent;
using System.Net;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Storage;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Tests.Kubernetes;

public sealed class KubernetesHostTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "chatopspull-host-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Without_kubeconfig_or_service_account_there_is_no_connection_and_one_sentence_says_so()
    {
        var connection = KubernetesConnection.Resolve(new KubernetesOptions(), inCluster: false, defaultKubeconfig: null);

        Assert.Null(connection.Client);
        Assert.Equal(ConnectionSource.None, connection.Source);
        Assert.Equal(
            "No kubeconfig (Kubernetes:KubeconfigPath, $KUBECONFIG or ~/.kube/config) and no in-cluster service account were found, so the Kubernetes watcher is off.",
            connection.Description);
    }

    [Fact]
    public async Task A_kubeconfig_connects_with_its_current_context_and_namespace()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var path = api.WriteKubeconfig(_directory, contextNamespace: "shop");

        using var connection = KubernetesConnection.Resolve(new KubernetesOptions(), inCluster: false, defaultKubeconfig: path);

        Assert.Equal((ConnectionSource.Kubeconfig, "shop"), (connection.Source, connection.OwnNamespace));
        Assert.Equal($"Connected with kubeconfig {path}, context fake, server {api.BaseAddress}.", connection.Description);
        var namespaces = await connection.Client!.CoreV1.ListNamespaceAsync();
        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "kube-system");
    }

    [Fact]
    public async Task The_host_runs_with_the_watcher_off_when_the_kubeconfig_cannot_be_used()
    {
        Directory.CreateDirectory(_directory);
        var broken = Path.Combine(_directory, "kubeconfig");
        await File.WriteAllTextAsync(broken, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\ncurrent-context: missing\nusers: []\n");
        var logs = new ConcurrentQueue<string>();
        await using var host = new BotTestHost(
            HostStorage(),
            new() { ["Kubernetes:KubeconfigPath"] = broken },
            s => s.AddSingleton<ILoggerProvider>(new ListLoggerProvider(logs)));
        using var client = host.CreateClient();

        using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Eventually.HoldsAsync(() => logs.Any(l => l.Contains("so the Kubernetes watcher is off.", StringComparison.Ordinal)), "the watcher-off sentence");
        Assert.Contains(logs, l => l.StartsWith("The Kubernetes configuration could not be used (", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_host_watches_the_kubeconfig_cluster_as_lease_holder_and_delivers_to_the_registered_sink()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-host1"));
        foreach (var e in KubeFixtures.LoadList("events-pulled.json"))
        {
            api.Seed(e);
        }

        var kubeconfig = api.WriteKubeconfig(Path.Combine(_directory, "kube"), contextNamespace: "shop");
        var sink = new RecordingSink();
        await using var host = new BotTestHost(
            HostStorage(),
            new()
            {
                ["Bot:Cluster"] = "prod-eu",
                ["Kubernetes:KubeconfigPath"] = kubeconfig,
                ["Kubernetes:Namespaces:0"] = "shop",
            },
            s => s.AddSingleton<ChatOpsPull.Incidents.IPullFailureSink>(sink));
        using var client = host.CreateClient();

        await Eventually.HoldsAsync(() => sink.Reports.Count == 1, "the host's watcher reports the failing pod");
        var report = sink.Reports[0];
        Assert.Equal(("prod-eu", "shop", "web-6b9f7c5d8-host1", "deployment/web"), (report.Cluster, report.Namespace, report.Pod, report.Workload!.ToString()));
        var lease = api.Store.Get(ResourceType.Of("leases"), "shop", "chatopspull-watcher");
        Assert.NotNull(lease);
        Assert.StartsWith(Environment.MachineName.ToLowerInvariant() + "-", lease!["spec"]!["holderIdentity"]!.GetValue<string>(), StringComparison.Ordinal);
        var store = host.Services.GetRequiredService<ChatOpsPull.Detection.KubernetesWatch.PullEventStore>();
        IReadOnlyList<ChatOpsPull.Detection.KubernetesWatch.PullEventRecord> rows = [];
        await Eventually.HoldsAsync(() => (rows = store.ListAsync("prod-eu", DateTimeOffset.MinValue, CancellationToken.None).GetAwaiter().GetResult()).Count == 2, "two pulls stored");
        Assert.Contains(rows, r => r.Image == "ghcr.io/example/api:2.7.0" && r.SizeBytes == 48213567);
    }

    [Theory]
    [InlineData("Kubernetes:Namespaces:0", "Shop_NS", "Kubernetes:Namespaces contains \"Shop_NS\", which is not a namespace name")]
    [InlineData("Kubernetes:Lease:RenewDeadline", "00:01:00", "Kubernetes:Lease needs RetryPeriod < RenewDeadline < LeaseDuration")]
    [InlineData("Kubernetes:KubeconfigPath", "/nonexistent/config", "Kubernetes:KubeconfigPath points at \"/nonexistent/config\", which does not exist")]
    public void Bad_kubernetes_settings_stop_the_host_at_start_with_a_sentence(string key, string value, string expected)
    {
        using var host = new BotTestHost(HostStorage(), new() { [key] = value });

        var thrown = Assert.ThrowsAny<Exception>(() => host.CreateClient());
        var error = thrown as OptionsValidationException
            ?? (thrown as AggregateException)?.Flatten().InnerExceptions.OfType<OptionsValidationException>().FirstOrDefault();
        Assert.True(error is not null, $"expected an options validation failure, got {thrown}");
        Assert.Contains(expected, error!.Message, StringComparison.Ordinal);
    }

    /// <summary>The host's SQLite files in this test's directory (removed with it).</summary>
    private TestStorage HostStorage() => TestStorage.SqliteIn(Path.Combine(_directory, "data"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, true);
        }
    }

    private sealed class ListLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }

        private sealed class ListLogger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception));
        }
    }
}
