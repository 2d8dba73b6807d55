using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Remediation.Actions;

namespace ChatOpsPull.Remediation;

/// <summary>What a dry run said: whether the plan can work at all, and the short human diff (or why not).</summary>
/// <param name="Possible">False when the plan cannot work (object gone, RBAC refused, credentials missing): nothing is requested.</param>
public sealed record DryRunOutcome(bool Possible, string Text)
{
    /// <summary>For a plan that changes a pod template: the tool that owns the workload as it is now, or null.</summary>
    public WorkloadOwner? ManagedBy { get; init; }
}

/// <summary>The catalogue: one action per <see cref="RemediationKind"/>, switched exhaustively.</summary>
public sealed partial class RemediationActions(
    RefreshCredentialsAction refreshCredentials,
    AttachPullSecretToServiceAccountAction attachToServiceAccount,
    AttachPullSecretToWorkloadAction attachToWorkload,
    RestartWorkloadAction restart,
    DeleteBackoffPodsAction deleteBackoffPods,
    SetImageTagAction setImageTag,
    RollBackAction rollBack,
    RunCronJobNowAction runCronJobNow,
    ClusterAccess cluster,
    ILogger<RemediationActions> logger)
{
    /// <summary>How long a dry run may take before the request goes ahead without one (it runs again when the job acts).</summary>
    public static readonly TimeSpan DryRunBudget = TimeSpan.FromSeconds(10);

    public IRemediationAction For(RemediationKind kind) => kind switch
    {
        RemediationKind.RefreshCredentials => refreshCredentials,
        RemediationKind.AttachPullSecretToServiceAccount => attachToServiceAccount,
        RemediationKind.AttachPullSecretToWorkload => attachToWorkload,
        RemediationKind.RestartWorkload => restart,
        RemediationKind.DeleteBackoffPods => deleteBackoffPods,
        RemediationKind.SetImageTag => setImageTag,
        RemediationKind.RollBack => rollBack,
        RemediationKind.RunCronJobNow => runCronJobNow,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a remediation kind"),
    };

    /// <summary>
    /// The server-side dry run of a plan before anyone approves it. A refusal (RBAC, missing object, bad plan) makes it
    /// impossible; an API server that does not answer in time leaves it possible with a note (the job checks again).
    /// </summary>
    public async Task<DryRunOutcome> DryRunAsync(RemediationPlan plan, string? image, CancellationToken cancellationToken)
    {
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(DryRunBudget);
        try
        {
            var text = await For(plan.Kind).DryRunAsync(new ActionInput(plan, image), budget.Token).ConfigureAwait(false);
            var owner = RemediationPlan.ChangesPodTemplate(plan.Kind)
                ? (await cluster.ShapeAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, budget.Token).ConfigureAwait(false)).Owner
                : null;
            return new DryRunOutcome(true, text) { ManagedBy = owner };
        }
        catch (RemediationRefusedException e)
        {
            return new DryRunOutcome(false, e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogDryRunSlow(logger, plan.Key);
            return new DryRunOutcome(true, "not available: the API server did not answer within 10 s (the job checks again before it acts)");
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            var error = Kubernetes.ApiError.From(e);
            return new DryRunOutcome(false, $"the API server refused the dry run: {error.Message}");
        }
    }

    public Task<string> ApplyAsync(RemediationPlan plan, string? image, StepLog steps, CancellationToken cancellationToken) =>
        For(plan.Kind).ApplyAsync(new ActionInput(plan, image), steps, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dry run of {PlanKey} did not finish in time; the request goes ahead without it")]
    private static partial void LogDryRunSlow(ILogger logger, string planKey);
}
