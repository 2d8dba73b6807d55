using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Adds a pull secret to a ServiceAccount's imagePullSecrets. The list is written whole with a JSON merge patch that
/// carries the resourceVersion read (ServiceAccount.imagePullSecrets has no merge key, and a concurrent edit must not be
/// lost: it answers 409 and the bot re-reads and re-applies). No duplicates: an attached secret is left as is.
/// </summary>
public sealed class ServiceAccountSecrets(ClusterAccess cluster, WorkloadPullCheck secrets)
{
    public async Task RequireSecretAsync(string @namespace, string secret, CancellationToken cancellationToken)
    {
        if (await secrets.ReadSecretAsync(@namespace, secret, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new RemediationRefusedException($"secret {secret} does not exist in namespace {@namespace}");
        }
    }

    public async Task<IReadOnlyList<string>> DryRunAttachAsync(string @namespace, string account, string secret, CancellationToken cancellationToken)
    {
        var current = await ReadAsync(@namespace, account, cancellationToken).ConfigureAwait(false);
        if (Attached(current, secret))
        {
            return [$"serviceaccount {account}: {secret} is already attached"];
        }

        var client = cluster.Client;
        var after = await cluster.Calls.RunAsync(
            KubeTarget.For("patch", "ServiceAccount", @namespace),
            ct => client.CoreV1.PatchNamespacedServiceAccountAsync(Patch(current, secret), account, @namespace, dryRun: "All", cancellationToken: ct),
            cancellationToken).ConfigureAwait(false);
        return ObjectDiff.Lines(ClusterAccess.ToJson(current), ClusterAccess.ToJson(after)).Select(l => $"serviceaccount {account}: {l}").ToList();
    }

    public Task<string> AttachAsync(string @namespace, string account, string secret, CancellationToken cancellationToken)
    {
        var client = cluster.Client;
        return cluster.Calls.RunAsync(
            KubeTarget.For("patch", "ServiceAccount", @namespace),
            async ct =>
            {
                var current = await ReadAsync(@namespace, account, ct).ConfigureAwait(false);
                if (Attached(current, secret))
                {
                    return $"{secret} was already attached to serviceaccount {account}";
                }

                await client.CoreV1.PatchNamespacedServiceAccountAsync(Patch(current, secret), account, @namespace, cancellationToken: ct).ConfigureAwait(false);
                return $"attached {secret} to serviceaccount {account}";
            },
            cancellationToken);
    }

    private async Task<V1ServiceAccount> ReadAsync(string @namespace, string account, CancellationToken cancellationToken)
    {
        var client = cluster.Client;
        try
        {
            return await cluster.Calls.RunAsync(
                KubeTarget.For("get", "ServiceAccount", @namespace),
                ct => client.CoreV1.ReadNamespacedServiceAccountAsync(account, @namespace, cancellationToken: ct),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (KubernetesCalls.IsNotFound(e))
        {
            throw new RemediationRefusedException($"serviceaccount {account} does not exist in namespace {@namespace}");
        }
    }

    private static bool Attached(V1ServiceAccount account, string secret) =>
        account.ImagePullSecrets?.Any(s => s.Name == secret) == true;

    private static V1Patch Patch(V1ServiceAccount current, string secret)
    {
        var list = new JsonArray();
        foreach (var existing in current.ImagePullSecrets ?? [])
        {
            list.Add(new JsonObject { ["name"] = existing.Name });
        }

        list.Add(new JsonObject { ["name"] = secret });
        return new V1Patch(
            new JsonObject
            {
                ["metadata"] = new JsonObject { ["resourceVersion"] = current.Metadata.ResourceVersion },
                ["imagePullSecrets"] = list,
            },
            V1Patch.PatchType.MergePatch);
    }
}

/// <summary>Attaches the secret to the ServiceAccount, then deletes the stuck pods (a ServiceAccount's secrets reach only new pods).</summary>
public sealed class AttachPullSecretToServiceAccountAction(ServiceAccountSecrets accounts, StuckPods stuckPods) : IRemediationAction
{
    public async Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken)
    {
        var (secret, account) = (input.Parameter("secret"), input.Parameter("serviceAccount"));
        await accounts.RequireSecretAsync(input.Plan.Namespace, secret, cancellationToken).ConfigureAwait(false);
        var lines = (await accounts.DryRunAttachAsync(input.Plan.Namespace, account, secret, cancellationToken).ConfigureAwait(false)).ToList();
        lines.AddRange(await stuckPods.DryRunAsync(input, cancellationToken).ConfigureAwait(false));
        return ObjectDiff.Summarize(lines);
    }

    public async Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        var (secret, account) = (input.Parameter("secret"), input.Parameter("serviceAccount"));
        var attached = await steps.RunAsync("1-attach", null, async (_, ct) =>
        {
            await accounts.RequireSecretAsync(input.Plan.Namespace, secret, ct).ConfigureAwait(false);
            return await accounts.AttachAsync(input.Plan.Namespace, account, secret, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        var deleted = await stuckPods.DeleteAsync(input, steps, "2-pods-", cancellationToken).ConfigureAwait(false);
        await steps.RecordTargetAsync(await StuckPods.TargetAfterDeleteAsync(input, steps, "2-pods-", cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return $"{attached}; {deleted}";
    }
}

/// <summary>
/// Adds the secret to the workload's pod template imagePullSecrets (strategic merge by name, so no duplicates, guarded
/// by the resourceVersion read). The template change rolls the pods.
/// </summary>
public sealed class AttachPullSecretToWorkloadAction(ClusterAccess cluster, ServiceAccountSecrets accounts, TemplateChanges templates) : IRemediationAction
{
    public async Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        var secret = input.Parameter("secret");
        await accounts.RequireSecretAsync(plan.Namespace, secret, cancellationToken).ConfigureAwait(false);
        var before = await cluster.ReadWorkloadAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false);
        TemplateChanges.Require(plan.Kind, plan.Namespace, plan.WorkloadKind, before, applying: false);
        if (Attached(before, plan.WorkloadKind, secret))
        {
            return $"no change: the pod template already names {secret}";
        }

        var after = await cluster.Calls.RunAsync(
            KubeTarget.For("patch", plan.WorkloadKind, plan.Namespace),
            ct => cluster.PatchWorkloadOnceAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, Patch(before, plan.WorkloadKind, secret), dryRun: true, ct),
            cancellationToken).ConfigureAwait(false);
        var lines = ObjectDiff.Lines(before, after).ToList();
        lines.AddRange(await templates.DryRunFollowUpAsync(input, before, cancellationToken).ConfigureAwait(false));
        return ObjectDiff.Summarize(lines);
    }

    public async Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        var secret = input.Parameter("secret");
        var attached = await steps.RunAsync("1-attach", null, async (_, ct) =>
        {
            await accounts.RequireSecretAsync(plan.Namespace, secret, ct).ConfigureAwait(false);
            return await cluster.Calls.RunAsync(
                KubeTarget.For("patch", plan.WorkloadKind, plan.Namespace),
                async c =>
                {
                    var current = await cluster.ReadWorkloadAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, c).ConfigureAwait(false);
                    TemplateChanges.Require(plan.Kind, plan.Namespace, plan.WorkloadKind, current, applying: true);
                    if (Attached(current, plan.WorkloadKind, secret))
                    {
                        return $"the pod template of {input.Workload} already names {secret}";
                    }

                    await cluster.PatchWorkloadOnceAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, Patch(current, plan.WorkloadKind, secret), dryRun: false, c).ConfigureAwait(false);
                    return $"added {secret} to the imagePullSecrets of {input.Workload}";
                },
                ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return await templates.FollowUpAsync(input, steps, cancellationToken).ConfigureAwait(false) is { } then ? $"{attached}; {then}" : attached;
    }

    private static bool Attached(JsonObject workload, string kind, string secret) =>
        (ClusterAccess.Template(workload, kind)?["spec"]?["imagePullSecrets"] as JsonArray ?? []).Any(s => s?["name"]?.GetValue<string>() == secret);

    private static V1Patch Patch(JsonObject current, string kind, string secret)
    {
        var patch = ClusterAccess.AtTemplate(kind, new JsonObject
        {
            ["spec"] = new JsonObject { ["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = secret }) },
        });
        patch["metadata"] = new JsonObject { ["resourceVersion"] = ClusterAccess.ResourceVersion(current) };
        return new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch);
    }
}
