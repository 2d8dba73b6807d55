using System.Net;
using ChatOpsPull.Cli;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Cli;

/// <summary>The container HEALTHCHECK against a real HTTP listener on a free loopback port.</summary>
public sealed class HealthCheckVerbTests
{
    private static async Task<(int Code, string Error)> RunAsync(params string[] args)
    {
        using var stdin = new StringReader(string.Empty);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["healthcheck", .. args], stdin, stdout, stderr);
        return (code, stderr.ToString());
    }

    private static HttpListener Serve(int port, HttpStatusCode status)
    {
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                try
                {
                    var context = await listener.GetContextAsync();
                    context.Response.StatusCode = (int)status;
                    context.Response.Close();
                }
                catch (HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
            }
        });
        return listener;
    }

    [Fact]
    public async Task A_bot_that_answers_200_is_healthy()
    {
        var port = FreePort.Next();
        using var listener = Serve(port, HttpStatusCode.OK);

        var (code, error) = await RunAsync("--url", $"http://127.0.0.1:{port}/healthz");

        Assert.Equal(0, code);
        Assert.Empty(error);
    }

    [Fact]
    public async Task A_bot_that_answers_503_is_unhealthy_and_says_so()
    {
        var port = FreePort.Next();
        using var listener = Serve(port, HttpStatusCode.ServiceUnavailable);

        var (code, error) = await RunAsync("--url", $"http://127.0.0.1:{port}/healthz");

        Assert.Equal(1, code);
        Assert.Contains("answered 503", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_listening_is_unhealthy()
    {
        var (code, error) = await RunAsync("--url", $"http://127.0.0.1:{FreePort.Next()}/healthz", "--timeout-seconds", "2");

        Assert.Equal(1, code);
        Assert.Contains("chatopspull healthcheck:", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--url", "not a url")]
    [InlineData("--url", "ftp://127.0.0.1/healthz")]
    [InlineData("--timeout-seconds", "0")]
    [InlineData("--timeout-seconds")]
    [InlineData("--verbose")]
    public async Task Bad_options_are_usage_errors(params string[] args)
    {
        var (code, error) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.StartsWith("chatopspull healthcheck:", error, StringComparison.Ordinal);
    }
}
