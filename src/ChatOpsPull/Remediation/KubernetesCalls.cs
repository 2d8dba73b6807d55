using System.Net;
using ChatOpsPull.Kubernetes;
using k8s.Autorest;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Remediation;

/// <summary>
/// Why a remediation cannot go on. The message is the plain sentence shown on the card and in the audit log
/// ("the bot's ServiceAccount may not patch deployments in namespace shop: add verb patch on deployments.apps").
/// </summary>
public sealed class RemediationRefusedException(string message) : Exception(message);

/// <summary>What one API call does, for explaining a 403 in RBAC terms.</summary>
/// <param name="Resource">Plural resource name as RBAC writes it ("deployments", "pods").</param>
/// <param name="Group">API group ("apps", "batch"; "" for the core group).</param>
public sealed record KubeTarget(string Verb, string Resource, string Group, string Namespace)
{
    public string QualifiedResource => Group.Length == 0 ? Resource : $"{Resource}.{Group}";

    public string ExplainForbidden() =>
        $"the bot's ServiceAccount may not {Verb} {Resource} in namespace {Namespace}: add verb {Verb} on {QualifiedResource}";

    public static KubeTarget For(string verb, string kind, string @namespace) => kind switch
    {
        "Deployment" => new(verb, "deployments", "apps", @namespace),
        "StatefulSet" => new(verb, "statefulsets", "apps", @namespace),
        "DaemonSet" => new(verb, "daemonsets", "apps", @namespace),
        "ReplicaSet" => new(verb, "replicasets", "apps", @namespace),
        "CronJob" => new(verb, "cronjobs", "batch", @namespace),
        "Job" => new(verb, "jobs", "batch", @namespace),
        "Pod" => new(verb, "pods", string.Empty, @namespace),
        "Secret" => new(verb, "secrets", string.Empty, @namespace),
        "ServiceAccount" => new(verb, "serviceaccounts", string.Empty, @namespace),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a kind remediation touches"),
    };
}

/// <summary>
/// Runs Kubernetes API calls for remediation jobs: a 409 Conflict (someone wrote the object since it was read) runs the
/// call again — the call re-reads and re-applies — ; 429, 5xx, connection failures and timeouts are retried with
/// exponential backoff and jitter; a 403 becomes <see cref="RemediationRefusedException"/> naming the missing RBAC verb.
/// Anything else (404, 422 …) is the caller's to handle.
/// </summary>
public sealed partial class KubernetesCalls(IOptionsMonitor<RemediationOptions> options, TimeProvider time, ILogger<KubernetesCalls> logger)
{
    public async Task<T> RunAsync<T>(KubeTarget target, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        string? lastProblem = null;
        for (var attempt = 1; attempt <= settings.ApiAttempts; attempt++)
        {
            try
            {
                return await call(cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e)
            {
                var error = ApiError.From(e);
                if (error.IsForbidden)
                {
                    throw new RemediationRefusedException(target.ExplainForbidden());
                }

                if (error.Code == HttpStatusCode.Conflict && error.Reason == "Conflict")
                {
                    lastProblem = "the object kept changing while the bot wrote it (409 Conflict)";
                    LogConflict(logger, target.Verb, target.QualifiedResource, target.Namespace, attempt);
                    await DelayAsync(TimeSpan.FromMilliseconds(Random.Shared.Next(20, 100 * attempt)), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (!IsTransient(error.Code))
                {
                    throw;
                }

                lastProblem = $"{(int)error.Code} {error.Reason}: {error.Message}";
                LogTransient(logger, target.Verb, target.QualifiedResource, target.Namespace, attempt, (int)error.Code);
            }
            catch (HttpRequestException e)
            {
                lastProblem = "the API server could not be reached: " + e.Message;
                LogTransient(logger, target.Verb, target.QualifiedResource, target.Namespace, attempt, 0);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                lastProblem = "the API server did not answer in time";
                LogTransient(logger, target.Verb, target.QualifiedResource, target.Namespace, attempt, 0);
            }

            if (attempt < settings.ApiAttempts)
            {
                await DelayAsync(Backoff(settings, attempt), cancellationToken).ConfigureAwait(false);
            }
        }

        throw new RemediationRefusedException(
            $"could not {target.Verb} {target.QualifiedResource} in namespace {target.Namespace} after {settings.ApiAttempts} attempts: {lastProblem}");
    }

    public Task RunAsync(KubeTarget target, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        RunAsync(target, async ct =>
        {
            await call(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public static bool IsNotFound(Exception exception) =>
        exception is HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound };

    public static bool IsAlreadyExists(Exception exception) =>
        exception is HttpOperationException e && ApiError.From(e) is { Code: HttpStatusCode.Conflict, Reason: "AlreadyExists" };

    /// <summary>Exponential backoff with full jitter: a random wait up to base·2^(attempt-1), capped.</summary>
    public static TimeSpan Backoff(RemediationOptions settings, int attempt)
    {
        var ceiling = Math.Min(settings.ApiMaxDelay.TotalMilliseconds, settings.ApiBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds(Math.Max(settings.ApiBaseDelay.TotalMilliseconds / 2, Random.Shared.NextDouble() * ceiling));
    }

    private static bool IsTransient(HttpStatusCode code) =>
        code is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout || (int)code == 0;

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(delay, time, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Verb} {Resource} in {Namespace}: 409 Conflict on attempt {Attempt}; re-reading and applying again")]
    private static partial void LogConflict(ILogger logger, string verb, string resource, string @namespace, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Verb} {Resource} in {Namespace}: transient failure (HTTP {Status}, 0 = no answer) on attempt {Attempt}; retrying")]
    private static partial void LogTransient(ILogger logger, string verb, string resource, string @namespace, int attempt, int status);
}
