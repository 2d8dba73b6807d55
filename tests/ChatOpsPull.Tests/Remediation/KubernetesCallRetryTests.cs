using System.Net;
using ChatOpsPull.Remediation;
using k8s.Autorest;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Remediation;

/// <summary>
/// The "kubernetes-calls" resilience pipeline as remediation uses it: which answers are tried again, how often, and
/// what the card says when the tries run out. The API server's answers are built as KubernetesClient raises them.
/// </summary>
public sealed class KubernetesCallRetryTests
{
    private static readonly KubeTarget Patch = KubeTarget.For("patch", "Deployment", "shop");

    private static KubernetesCalls Calls(int attempts)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<RemediationOptions>().Configure(o =>
        {
            o.ApiAttempts = attempts;
            o.ApiBaseDelay = TimeSpan.FromMilliseconds(10);
            o.ApiMaxDelay = TimeSpan.FromMilliseconds(20);
        });
        services.AddKubernetesCalls();
        return services.BuildServiceProvider().GetRequiredService<KubernetesCalls>();
    }

    private static HttpOperationException ApiAnswer(HttpStatusCode code, string reason, string message) => new($"Operation returned an invalid status code '{code}'")
    {
        Response = new HttpResponseMessageWrapper(
            new HttpResponseMessage(code),
            $$"""{"kind":"Status","apiVersion":"v1","status":"Failure","message":"{{message}}","reason":"{{reason}}","code":{{(int)code}}}"""),
    };

    [Fact]
    public async Task Conflicts_are_run_again_until_the_write_goes_through()
    {
        var tries = 0;

        var result = await Calls(6).RunAsync(Patch, _ => ++tries < 3 ? throw ApiAnswer(HttpStatusCode.Conflict, "Conflict", "the object has been modified") : Task.FromResult(42), CancellationToken.None);

        Assert.Equal((42, 3), (result, tries));
    }

    [Fact]
    public async Task Transient_answers_run_out_of_attempts_with_the_last_problem_in_words()
    {
        var tries = 0;

        var refused = await Assert.ThrowsAsync<RemediationRefusedException>(() =>
            Calls(3).RunAsync(Patch, _ => { tries++; return Task.FromException<int>(ApiAnswer(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", "etcd is busy")); }, CancellationToken.None));

        Assert.Equal(3, tries);
        Assert.Equal("could not patch deployments.apps in namespace shop after 3 attempts: 503 ServiceUnavailable: etcd is busy", refused.Message);
    }

    [Fact]
    public async Task An_unreachable_api_server_is_tried_again()
    {
        var tries = 0;

        var refused = await Assert.ThrowsAsync<RemediationRefusedException>(() =>
            Calls(2).RunAsync(Patch, _ => { tries++; return Task.FromException<int>(new HttpRequestException("Connection refused")); }, CancellationToken.None));

        Assert.Equal(2, tries);
        Assert.EndsWith("after 2 attempts: the API server could not be reached: Connection refused", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forbidden_is_not_retried_and_names_the_missing_verb()
    {
        var tries = 0;

        var refused = await Assert.ThrowsAsync<RemediationRefusedException>(() =>
            Calls(6).RunAsync(Patch, _ => { tries++; return Task.FromException<int>(ApiAnswer(HttpStatusCode.Forbidden, "Forbidden", "deployments.apps \"api\" is forbidden")); }, CancellationToken.None));

        Assert.Equal(1, tries);
        Assert.Equal("the bot's ServiceAccount may not patch deployments in namespace shop: add verb patch on deployments.apps", refused.Message);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, "NotFound")]
    [InlineData(HttpStatusCode.UnprocessableEntity, "Invalid")]
    [InlineData(HttpStatusCode.Conflict, "AlreadyExists")]
    public async Task Answers_the_caller_handles_are_passed_on_after_one_try(HttpStatusCode code, string reason)
    {
        var tries = 0;

        var thrown = await Assert.ThrowsAsync<HttpOperationException>(() =>
            Calls(6).RunAsync(Patch, _ => { tries++; return Task.FromException<int>(ApiAnswer(code, reason, "no")); }, CancellationToken.None));

        Assert.Equal((1, code), (tries, thrown.Response.StatusCode));
    }

    [Fact]
    public async Task The_callers_own_cancellation_is_not_retried()
    {
        using var cancelled = new CancellationTokenSource();
        var tries = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Calls(6).RunAsync(Patch, async ct => { tries++; await cancelled.CancelAsync(); ct.ThrowIfCancellationRequested(); return 1; }, cancelled.Token));

        Assert.Equal(1, tries);
    }
}
