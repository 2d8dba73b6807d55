using ChatOpsPull.Kubernetes;
using Polly;
using Polly.Retry;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// The resilience pipeline "kubernetes-watch-delivery": how the watcher hands one pod change (a pull failure, or its
/// resolution) to the incident engine. Any failure is tried again — up to <see cref="KubernetesOptions.DeliveryAttempts"/>
/// tries, the n-th retry after n × <see cref="KubernetesOptions.DeliveryRetryDelay"/> — except a cancellation of the
/// watch itself. When the last try fails the change is dropped and the watcher goes on: one change that cannot be
/// delivered must not stop every later one.
/// </summary>
public static partial class WatchDeliveryRetry
{
    public const string PipelineName = "kubernetes-watch-delivery";

    /// <summary>Adds the retry to <paramref name="builder"/>: from <paramref name="options"/>, timed by <paramref name="time"/>.</summary>
    public static ResiliencePipelineBuilder Configure(ResiliencePipelineBuilder builder, KubernetesOptions options, TimeProvider time, ILogger logger)
    {
        builder.TimeProvider = time;
        if (options.DeliveryAttempts <= 1)
        {
            return builder;
        }

        return builder.AddRetry(new RetryStrategyOptions
        {
            Name = "delivery",
            MaxRetryAttempts = options.DeliveryAttempts - 1,
            BackoffType = DelayBackoffType.Linear,
            Delay = options.DeliveryRetryDelay,
            UseJitter = false,
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Exception is { } e && !(e is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
            OnRetry = args =>
            {
                LogRetry(logger, args.AttemptNumber + 1, args.Outcome.Exception!.GetType().Name, args.Outcome.Exception.Message);
                return ValueTask.CompletedTask;
            },
        });
    }

    /// <summary>The pipeline as the watcher uses it when no registered one is handed to it.</summary>
    public static ResiliencePipeline Build(KubernetesOptions options, TimeProvider time, ILogger logger) =>
        Configure(new ResiliencePipelineBuilder(), options, time, logger).Build();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivering a pull failure failed (attempt {Attempt}, {Kind}: {Message}); retrying.")]
    private static partial void LogRetry(ILogger logger, int attempt, string kind, string message);
}
