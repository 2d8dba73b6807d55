using System.Net;
using ChatOpsPull.Kubernetes;
using k8s.Autorest;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace ChatOpsPull.Remediation;

/// <summary>
/// The resilience pipeline "kubernetes-calls" that <see cref="KubernetesCalls"/> runs every remediation API call through,
/// built from Remediation:ApiAttempts, ApiBaseDelay and ApiMaxDelay (rebuilt when they change):
/// <list type="bullet">
/// <item>409 Conflict (reason Conflict: someone wrote the object since it was read): the call runs again — it re-reads
/// and re-applies — after a short random pause (20 ms up to 100 ms × the attempt);</item>
/// <item>429, 500, 502, 503, 504, no HTTP answer, a connection failure or a timeout: again after exponential backoff
/// with full jitter (<see cref="Backoff"/>);</item>
/// <item>anything else — 403 (turned into <see cref="RemediationRefusedException"/> before it gets here), 404, 422,
/// the caller's own cancellation — is not retried.</item>
/// </list>
/// </summary>
public static partial class KubernetesCallRetry
{
    public const string PipelineName = "kubernetes-calls";

    /// <summary>Registers the pipeline (rebuilt when Remediation options change) and <see cref="KubernetesCalls"/>.</summary>
    public static IServiceCollection AddKubernetesCalls(this IServiceCollection services)
    {
        services.AddResiliencePipeline(PipelineName, (builder, context) =>
        {
            context.EnableReloads<RemediationOptions>();
            Configure(
                builder,
                context.ServiceProvider.GetRequiredService<IOptionsMonitor<RemediationOptions>>().CurrentValue,
                context.ServiceProvider.GetRequiredService<TimeProvider>(),
                context.ServiceProvider.GetRequiredService<ILogger<KubernetesCalls>>());
        });
        services.AddSingleton<KubernetesCalls>();
        return services;
    }

    /// <summary>What went wrong in words for the card, when <paramref name="exception"/> is worth another try; else null.</summary>
    public static string? RetryableProblem(Exception? exception, CancellationToken cancellationToken) => exception switch
    {
        HttpOperationException e when IsConflict(e) => "the object kept changing while the bot wrote it (409 Conflict)",
        HttpOperationException e when ApiError.From(e) is var error && IsTransient(error.Code) => $"{(int)error.Code} {error.Reason}: {error.Message}",
        HttpRequestException e => "the API server could not be reached: " + e.Message,
        OperationCanceledException when !cancellationToken.IsCancellationRequested => "the API server did not answer in time",
        _ => null,
    };

    /// <summary>Adds the retry to <paramref name="builder"/> from <paramref name="settings"/>, timed by <paramref name="time"/>.</summary>
    public static ResiliencePipelineBuilder Configure(ResiliencePipelineBuilder builder, RemediationOptions settings, TimeProvider time, ILogger logger)
    {
        builder.TimeProvider = time;
        if (settings.ApiAttempts <= 1)
        {
            return builder;
        }

        return builder.AddRetry(new RetryStrategyOptions
        {
            Name = "kubernetes-call",
            MaxRetryAttempts = settings.ApiAttempts - 1,
            ShouldHandle = args => ValueTask.FromResult(RetryableProblem(args.Outcome.Exception, args.Context.CancellationToken) is not null),
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                args.Outcome.Exception is HttpOperationException e && IsConflict(e)
                    ? TimeSpan.FromMilliseconds(Random.Shared.Next(20, 100 * (args.AttemptNumber + 1)))
                    : Backoff(settings, args.AttemptNumber + 1)),
            OnRetry = args =>
            {
                var target = args.Context.Properties.GetValue(TargetKey, new KubeTarget("call", "objects", string.Empty, "?"));
                var attempt = args.AttemptNumber + 1;
                if (args.Outcome.Exception is HttpOperationException e && IsConflict(e))
                {
                    LogConflict(logger, target.Verb, target.QualifiedResource, target.Namespace, attempt);
                }
                else
                {
                    var status = args.Outcome.Exception is HttpOperationException h ? (int)ApiError.From(h).Code : 0;
                    LogTransient(logger, target.Verb, target.QualifiedResource, target.Namespace, attempt, status);
                }

                return ValueTask.CompletedTask;
            },
        });
    }

    /// <summary>The call being retried, for the log lines.</summary>
    public static readonly ResiliencePropertyKey<KubeTarget> TargetKey = new("chatopspull.kubernetes-call");

    /// <summary>Exponential backoff with full jitter: a random wait up to base·2^(attempt-1), capped, never under half the base.</summary>
    public static TimeSpan Backoff(RemediationOptions settings, int attempt)
    {
        var ceiling = Math.Min(settings.ApiMaxDelay.TotalMilliseconds, settings.ApiBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds(Math.Max(settings.ApiBaseDelay.TotalMilliseconds / 2, Random.Shared.NextDouble() * ceiling));
    }

    private static bool IsConflict(HttpOperationException e) =>
        ApiError.From(e) is { Code: HttpStatusCode.Conflict, Reason: "Conflict" };

    private static bool IsTransient(HttpStatusCode code) =>
        code is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout || (int)code == 0;

    [LoggerMessage(Level = LogLevel.Information, Message = "{Verb} {Resource} in {Namespace}: 409 Conflict on attempt {Attempt}; re-reading and applying again")]
    private static partial void LogConflict(ILogger logger, string verb, string resource, string @namespace, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Verb} {Resource} in {Namespace}: transient failure (HTTP {Status}, 0 = no answer) on attempt {Attempt}; retrying")]
    private static partial void LogTransient(ILogger logger, string verb, string resource, string @namespace, int attempt, int status);
}
