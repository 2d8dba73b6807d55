using System.Text;
using ChatOpsPull.Cli;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Registry;

[Collection(RegistryFixtureGroup.Name)]
public sealed class CheckVerbTests(RegistryFixture registry)
{
    private static async Task<(int Exit, string Out, string Error)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(["check", .. args], TextReader.Null, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static string[] PlainHttp(string host) => [$"--Registry:Hosts:0:Host={host}", "--Registry:Hosts:0:PlainHttp=true"];

    [Fact]
    public async Task Pullable_image_exits_0_and_prints_aligned_evidence_with_timings()
    {
        var (exit, output, _) = await RunAsync([$"{registry.Anonymous}/team/multi:1.0", "--platform", "linux/arm64", .. PlainHttp(registry.Anonymous)]);

        Assert.Equal(0, exit);
        Assert.Contains($"check {registry.Anonymous}/team/multi:1.0 for linux/arm64", output, StringComparison.Ordinal);
        Assert.Matches(@"  PASS  TCP 127\.0\.0\.1:\d+ +\d+\.\d ms  connected", output);
        Assert.Contains("PASS  platform linux/arm64", output, StringComparison.Ordinal);
        Assert.Contains("pullable: ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_tag_exits_1_with_the_cause_and_suggestions()
    {
        var (exit, output, _) = await RunAsync([$"{registry.Anonymous}/team/app:1.4.3", .. PlainHttp(registry.Anonymous)]);

        Assert.Equal(1, exit);
        Assert.Contains("image_not_found (high confidence): tag 1.4.3 does not exist", output, StringComparison.Ordinal);
        Assert.Contains("suggested tags: 1.4.2 (closest lower 1.4 version), 1.5.0 (newest 1.x)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secret_file_credentials_are_matched_and_tried_like_kubelet()
    {
        var file = Path.GetTempFileName();
        var wrong = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.BasicUser}:wrong"));
        var right = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.BasicUser}:{RegistryFixture.BasicPassword}"));
        var auths = new Dictionary<string, object>
        {
            [$"{registry.Basic}/private"] = new { auth = wrong },
            [$"http://{registry.Basic}"] = new { auth = right },
            ["ghcr.io"] = new { auth = right },
        };
        await File.WriteAllTextAsync(file, System.Text.Json.JsonSerializer.Serialize(new { auths }));
        try
        {
            var (exit, output, _) = await RunAsync([$"{registry.Basic}/private/app:1.0", "--secret-file", file, .. PlainHttp(registry.Basic)]);

            Assert.Equal(0, exit);
            Assert.Contains("kubelet tries 2 credentials", output, StringComparison.Ordinal);
            Assert.Contains("attempt 1 of 2", output, StringComparison.Ordinal);
            Assert.Contains("attempt 2 of 2", output, StringComparison.Ordinal);
            Assert.DoesNotContain(RegistryFixture.BasicPassword, output, StringComparison.Ordinal);
            Assert.DoesNotContain(right, output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Secret_file_larger_than_a_kubernetes_secret_is_a_usage_error()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, new byte[(1024 * 1024) + 1]);
        try
        {
            var (exit, _, error) = await RunAsync("nginx", "--secret-file", file);

            Assert.Equal(2, exit);
            Assert.Contains("larger than a Kubernetes secret can be", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Registry_requiring_login_without_a_secret_exits_1()
    {
        var (exit, output, _) = await RunAsync([$"{registry.Basic}/private/app:1.0", .. PlainHttp(registry.Basic)]);

        Assert.Equal(1, exit);
        Assert.Contains("auth_failed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_image_name_exits_1_with_what_is_wrong()
    {
        var (exit, output, _) = await RunAsync("Registry.Example.com/Team/App:1");

        Assert.Equal(1, exit);
        Assert.Contains("invalid_name: invalid reference format: repository name (Team/App) must be lowercase", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "which image?")]
    [InlineData(new[] { "nginx", "--platform", "linux" }, "must be os/arch")]
    [InlineData(new[] { "nginx", "--frobnicate" }, "unknown option '--frobnicate'")]
    [InlineData(new[] { "nginx", "redis" }, "one image at a time")]
    [InlineData(new[] { "nginx", "--secret-file" }, "--secret-file needs a file name")]
    [InlineData(new[] { "nginx", "--secret-file", "/nonexistent/config.json" }, "cannot read --secret-file")]
    [InlineData(new[] { "nginx", "--Registry:ConnectTimeout=00:00:00" }, "Registry:ConnectTimeout must be more than 0")]
    [InlineData(new[] { "nginx", "--Registry:Hosts:0:Host=https://r.io/x" }, "must be a host with an optional port and no scheme or path")]
    public async Task Usage_errors_exit_2_with_a_sentence(string[] args, string expected)
    {
        var (exit, output, error) = await RunAsync(args);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output);
    }
}
