using System.Net;
using ChatOpsPull.Kubernetes;
using k8s.Autorest;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;

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
/// Runs Kubernetes API calls for remediation jobs through the <see cref="KubernetesCallRetry"/> pipeline: a 409 Conflict
/// runs the call again (the call re-reads and re-applies); 429, 5xx, connection failures and timeouts are retried with
/// exponential backoff and jitter; a 403 becomes <see cref="RemediationRefusedException"/> naming the missing RBAC verb,
/// and so does running out of attempts. Anything else (404, 422 …) is the caller's to handle.
/// </summary>
public sealed class KubernetesCalls(ResiliencePipelineProvider<string> pipelines, IOptionsMonitor<RemediationOptions> options)
{
    public async Task<T> RunAsync<T>(KubeTarget target, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var pipeline = pipelines.GetPipeline(KubernetesCallRetry.PipelineName);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(KubernetesCallRetry.TargetKey, target);
        try
        {
            return await pipeline.ExecuteAsync(
                static async (ctx, state) =>
                {
                    try
                    {
                        return await state.call(ctx.CancellationToken).ConfigureAwait(false);
                    }
                    catch (HttpOperationException e) when (ApiError.From(e).IsForbidden)
                    {
                        throw new RemediationRefusedException(state.target.ExplainForbidden());
                    }
                },
                context,
                (call, target)).ConfigureAwait(false);
        }
        catch (Exception e) when (KubernetesCallRetry.RetryableProblem(e, cancellationToken) is { } lastProblem)
        {
            throw new RemediationRefusedException(
                $"could not {target.Verb} {target.QualifiedResource} in namespace {target.Namespace} after {options.CurrentValue.ApiAttempts} attempts: {lastProblem}");
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
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
}
