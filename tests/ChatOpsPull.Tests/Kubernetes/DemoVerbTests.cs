using System.Net;
using ChatOpsPull.Cli.Demo;
using ChatOpsPull.Hosting;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Simulation.KubernetesApi;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// <c>chatopspull demo</c> against the Kubernetes API stand-in: it creates the labelled namespace and three Deployments
/// whose images cannot be pulled (a missing tag, a private repository without a secret, an invalid name), says where to
/// look, runs again without harm, and <c>--clean</c> deletes everything it labelled and nothing else.
/// </summary>
public sealed class DemoVerbTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chatopspull-demo-").FullName;

    [Fact]
    public async Task Demo_creates_three_labelled_workloads_that_cannot_pull_and_says_where_to_look()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var kubeconfig = api.WriteKubeconfig(_directory);
        using var client = api.CreateClient();

        var (code, output, error) = await RunAsync("demo", "--kubeconfig", kubeconfig);

        Assert.True(code == 0, error);
        var ns = await client.CoreV1.ReadNamespaceAsync(DemoWorkloads.DefaultNamespace);
        Assert.Equal(DemoWorkloads.LabelValue, ns.Metadata.Labels[DemoWorkloads.LabelKey]);
        var deployments = await client.AppsV1.ListNamespacedDeploymentAsync(DemoWorkloads.DefaultNamespace, labelSelector: DemoWorkloads.Label);
        Assert.Equal(
            [("invalid-name", "registry.example.com/Shop/Web:1.0"), ("missing-tag", "docker.io/library/nginx:0.0.0-chatopspull-demo"), ("private-image", "docker.io/chatopspull/private-demo:1.0.0")],
            deployments.Items.Select(d => (d.Metadata.Name, d.Spec.Template.Spec.Containers.Single().Image)).Order());
        Assert.All(deployments.Items, d => Assert.Null(d.Spec.Template.Spec.ImagePullSecrets));
        Assert.False(Core.Images.ImageReference.TryParse("registry.example.com/Shop/Web:1.0", out _, out _));
        Assert.Contains($"kubectl -n {DemoWorkloads.DefaultNamespace} get pods", output, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:8080/", output, StringComparison.Ordinal);
        Assert.Contains("chatopspull demo --clean", output, StringComparison.Ordinal);

        var again = await RunAsync("demo", $"--kubeconfig={kubeconfig}");
        Assert.True(again.Code == 0, again.Error);
        Assert.Equal(3, (await client.AppsV1.ListNamespacedDeploymentAsync(DemoWorkloads.DefaultNamespace)).Items.Count);
    }

    [Fact]
    public async Task Clean_deletes_everything_labelled_and_nothing_else()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        var kubeconfig = api.WriteKubeconfig(_directory);
        using var client = api.CreateClient();
        Assert.Equal(0, (await RunAsync("demo", "--kubeconfig", kubeconfig)).Code);
        Assert.Equal(0, (await RunAsync("demo", "--kubeconfig", kubeconfig, "-n", "shop")).Code);

        var (code, output, error) = await RunAsync("demo", "--clean", "--kubeconfig", kubeconfig);

        Assert.True(code == 0, error);
        Assert.Empty((await client.AppsV1.ListDeploymentForAllNamespacesAsync(labelSelector: DemoWorkloads.Label)).Items);
        Assert.Contains($"deleted namespace {DemoWorkloads.DefaultNamespace}", output, StringComparison.Ordinal);
        Assert.Contains("deleted deployment shop/missing-tag", output, StringComparison.Ordinal);
        // shop was not made by the demo: its own Deployment and the namespace stay.
        Assert.Equal("web", (await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop")).Metadata.Name);
        Assert.Equal("shop", (await client.CoreV1.ReadNamespaceAsync("shop")).Metadata.Name);
        await AssertGoneOrTerminatingAsync(client, DemoWorkloads.DefaultNamespace);

        var twice = await RunAsync("demo", "--clean", "--kubeconfig", kubeconfig);
        Assert.Equal(0, twice.Code);
    }

    [Fact]
    public async Task Without_a_cluster_it_says_what_to_start_and_changes_nothing()
    {
        var port = FreePort.Next();
        var unreachable = Path.Combine(_directory, "unreachable");
        await File.WriteAllTextAsync(unreachable, $$"""
            apiVersion: v1
            kind: Config
            clusters: [{ name: gone, cluster: { server: "http://127.0.0.1:{{port}}" } }]
            users: [{ name: me, user: { token: t } }]
            contexts: [{ name: gone, context: { cluster: gone, user: me } }]
            current-context: gone
            """);

        var missing = await RunAsync("demo", "--kubeconfig", Path.Combine(_directory, "nope"));
        var down = await RunAsync("demo", "--kubeconfig", unreachable);

        Assert.Equal(2, missing.Code);
        Assert.Contains("does not exist", missing.Error, StringComparison.Ordinal);
        Assert.Equal(2, down.Code);
        Assert.Contains("cannot reach the cluster", down.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cluster_that_refuses_gets_the_servers_sentence()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Deny("create", "namespaces");
        var kubeconfig = api.WriteKubeconfig(_directory);

        var (code, _, error) = await RunAsync("demo", "--kubeconfig", kubeconfig);

        Assert.Equal(2, code);
        Assert.Contains("the API server refused", error, StringComparison.Ordinal);
        Assert.Contains("namespaces", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("demo --bogus", "unknown option '--bogus'")]
    [InlineData("demo -n", "-n needs a value")]
    [InlineData("demo -n Not_A_Name", "is not a namespace name")]
    public async Task Bad_arguments_exit_2_with_a_sentence(string line, string expected)
    {
        var (code, _, error) = await RunAsync(line.Split(' '));

        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task AssertGoneOrTerminatingAsync(IKubernetes client, string name)
    {
        try
        {
            var ns = await client.CoreV1.ReadNamespaceAsync(name);
            Assert.True(ns.Metadata.DeletionTimestamp is not null || ns.Status?.Phase == "Terminating", $"namespace {name} is neither gone nor terminating");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);
}
