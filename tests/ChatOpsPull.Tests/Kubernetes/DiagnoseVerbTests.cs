using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Cli;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Kubernetes;

public sealed class DiagnoseVerbTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "chatopspull-diagnose-" + Guid.NewGuid().ToString("N"));

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task Failing_pods_are_printed_with_classification_and_evidence_and_exit_1()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        var pod = api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));
        api.SetContainerWaiting("shop", "web-6b9f7c5d8-x7kq2", "web", "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\"");
        api.Seed(KubeFixtures.FailedEventFor(pod));
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-fine1"));
        api.MarkPodsReady("shop", "app=web,pod-template-hash=6b9f7c5d8");
        api.SetContainerWaiting("shop", "web-6b9f7c5d8-x7kq2", "web", "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\"");
        var kubeconfig = api.WriteKubeconfig(_directory, contextNamespace: "shop");

        var (code, output, error) = await RunAsync("diagnose", "--kubeconfig", kubeconfig);

        Assert.Equal(1, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("1 container in namespace shop cannot pull its image:", output, StringComparison.Ordinal);
        Assert.Contains("shop/web-6b9f7c5d8-x7kq2 container web (deployment/web)", output, StringComparison.Ordinal);
        Assert.Contains("reason:  ImagePullBackOff on node worker-1", output, StringComparison.Ordinal);
        Assert.Contains("cause:   Image or tag not found", output, StringComparison.Ordinal);
        Assert.Contains("[info] runtime message: ImagePullBackOff: Failed to pull image \"registry.example.com/shop/web:1.4.3-typo\": rpc error: code = NotFound", output, StringComparison.Ordinal);
        Assert.Contains("[FAIL] pull secret regcred: secret regcred does not exist in namespace shop", output, StringComparison.Ordinal);
        Assert.Contains("[FAIL] node worker-1 disk: DiskPressure is True", output, StringComparison.Ordinal);
        Assert.Contains("[info] node worker-1 platform: linux/arm64", output, StringComparison.Ordinal);
        Assert.DoesNotContain("web-6b9f7c5d8-fine1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_failing_exits_0_and_all_namespaces_are_searched_with_a_flag()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.Load("cronjob-nightly-report.json"));
        api.Seed(KubeFixtures.Load("job-nightly-report.json"));
        api.Seed(KubeFixtures.Load("pod-init-ephemeral.json"));
        var kubeconfig = api.WriteKubeconfig(_directory);

        var quiet = await RunAsync("diagnose", "-n", "default", "--kubeconfig", kubeconfig);
        var all = await RunAsync("diagnose", "--all-namespaces", $"--kubeconfig={kubeconfig}", "--context", "fake");

        Assert.Equal((0, "No container in namespace default is failing to pull its image.\n"), (quiet.Code, quiet.Out.ReplaceLineEndings("\n")));
        Assert.Equal(1, all.Code);
        Assert.Contains("2 containers in all namespaces cannot pull their images:", all.Out, StringComparison.Ordinal);
        Assert.Contains("batch/nightly-report-29400000-8hq4t init container migrate (cronjob/nightly-report)", all.Out, StringComparison.Ordinal);
        Assert.Contains("cause:   Invalid image name", all.Out, StringComparison.Ordinal);
        Assert.Contains("batch/nightly-report-29400000-8hq4t ephemeral container debugger-5xk2p", all.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("diagnose --bogus", "unknown option '--bogus'")]
    [InlineData("diagnose -n", "-n needs a namespace")]
    [InlineData("diagnose -n shop --all-namespaces", "use either -n NAMESPACE or --all-namespaces, not both")]
    [InlineData("diagnose --kubeconfig /nonexistent/kubeconfig", "the kubeconfig /nonexistent/kubeconfig does not exist")]
    public async Task Bad_arguments_exit_2_with_a_sentence(string line, string expected)
    {
        var (code, output, error) = await RunAsync(line.Split(' '));
        Assert.Equal(2, code);
        Assert.Equal(string.Empty, output);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cluster_that_refuses_to_list_pods_exits_2_with_the_server_message()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Deny("list", "pods", "shop");
        var kubeconfig = api.WriteKubeconfig(_directory, contextNamespace: "shop");

        var (code, _, error) = await RunAsync("diagnose", "--kubeconfig", kubeconfig);

        Assert.Equal(2, code);
        Assert.Contains("the API server refused: pods is forbidden: User \"system:serviceaccount:chatopspull:chatopspull\" cannot list resource \"pods\"", error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, true);
        }
    }
}
