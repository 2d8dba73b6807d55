using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Tests.Diagnoses;

/// <summary>The fixes offered and withheld for each workload shape, for a missing tag and for a transient failure.</summary>
public sealed class FixPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static readonly WorkloadOwner ArgoCd = new(OwnerTool.ArgoCd, "storefront-prod", null, "annotation argocd.argoproj.io/tracking-id=storefront-prod:apps/Deployment:shop/api");

    public static TheoryData<string, WorkloadShape> Shapes => new()
    {
        { "deployment", new WorkloadShape("Deployment", "api") { UpdateStrategy = "RollingUpdate", Replicas = 2 } },
        { "paused deployment", new WorkloadShape("Deployment", "api") { Paused = true, UpdateStrategy = "RollingUpdate" } },
        { "statefulset partition 2", new WorkloadShape("StatefulSet", "api") { UpdateStrategy = "RollingUpdate", Partition = 2, Replicas = 3 } },
        { "statefulset OnDelete", new WorkloadShape("StatefulSet", "api") { UpdateStrategy = "OnDelete", Replicas = 2 } },
        { "daemonset OnDelete", new WorkloadShape("DaemonSet", "api") { UpdateStrategy = "OnDelete" } },
        { "cronjob", new WorkloadShape("CronJob", "api") },
        { "replicaset", new WorkloadShape("ReplicaSet", "api") { Replicas = 2 } },
        { "rollout", new WorkloadShape("Rollout", "api") { Owner = new WorkloadOwner(OwnerTool.ArgoRollouts, "api", null, "controller owner Rollout api (argoproj.io/v1alpha1)") } },
        { "argo cd deployment", new WorkloadShape("Deployment", "api") { UpdateStrategy = "RollingUpdate", Owner = ArgoCd } },
        { "operator statefulset", new WorkloadShape("StatefulSet", "api") { UpdateStrategy = "RollingUpdate", Replicas = 3, Owner = Operator } },
    };

    private static readonly WorkloadOwner Operator = new(OwnerTool.Controller, "rabbit", null, "controller owner RabbitmqCluster rabbit (rabbitmq.com/v1beta1)", "RabbitmqCluster");

    private static DiagnosisFacts Facts(WorkloadShape shape, PullCause? registryCause, string[] tags, (int, string)? previous = null)
    {
        const string Image = "ghcr.io/acme/api:1.4.3";
        _ = ImageReference.TryParse(Image, out var parsed, out _);
        return new DiagnosisFacts("prod", "shop", Image, parsed, null, "ErrImagePull", "Back-off pulling image", shape.Ref, "app", "default", "node-1",
            false, "linux/amd64", new PullSecretFacts([], [], null, [], true), new RegistryFacts(registryCause, "checked", tags, null, []), false, previous)
        {
            Shape = shape,
        };
    }

    private static Diagnosis TagMissing(WorkloadShape shape) =>
        DiagnosisPlanner.Plan(Facts(shape, PullCause.ImageNotFound, ["1.4.2"], (1, "ghcr.io/acme/api:1.4.2")), [], Now);

    private static Diagnosis Transient(WorkloadShape shape) => DiagnosisPlanner.Plan(Facts(shape, null, []), [], Now);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_withheld_fix_says_why_and_nothing_is_both_offered_and_withheld(string name, WorkloadShape shape)
    {
        foreach (var diagnosis in new[] { TagMissing(shape), Transient(shape) })
        {
            Assert.All(diagnosis.Withheld, w => Assert.True(w.Reason.Length > 20, $"{name}: {w.Title} has no reason"));
            Assert.Empty(diagnosis.Withheld.Select(w => w.Kind).Intersect(diagnosis.Remediations.Select(r => r.Kind)));
        }
    }

    [Fact]
    public void An_operator_owned_statefulset_gets_no_template_change_not_even_behind_a_confirmation_and_keeps_the_retry()
    {
        var shape = new WorkloadShape("StatefulSet", "rabbit-server") { UpdateStrategy = "RollingUpdate", Replicas = 3, Owner = Operator };

        var missing = TagMissing(shape);
        var transient = Transient(shape);

        Assert.Empty(missing.Remediations);
        var tag = Assert.Single(missing.Withheld);
        Assert.Equal(RemediationKind.SetImageTag, tag.Kind);
        Assert.StartsWith("statefulset/rabbit-server belongs to RabbitmqCluster rabbit (controller owner RabbitmqCluster rabbit (rabbitmq.com/v1beta1)), whose controller writes its pod template and undoes a patch at its next reconcile; the bot does not patch it. Change RabbitmqCluster rabbit instead", tag.Reason, StringComparison.Ordinal);
        Assert.Equal([RemediationKind.DeleteBackoffPods], transient.Remediations.Select(r => r.Kind));
        Assert.Null(transient.Remediations[0].ManagedBy);
        Assert.Equal([RemediationKind.RestartWorkload], transient.Withheld.Select(w => w.Kind));
    }

    [Fact]
    public void A_paused_deployment_gets_no_template_change_and_says_kubectl_refuses_restart_and_undo_too()
    {
        var shape = new WorkloadShape("Deployment", "api") { Paused = true };

        var missing = TagMissing(shape);
        var transient = Transient(shape);

        Assert.Empty(missing.Remediations);
        Assert.Equal([RemediationKind.SetImageTag, RemediationKind.RollBack], missing.Withheld.Select(w => w.Kind));
        Assert.Contains("a change to its pod template would not roll out until someone resumes it (`kubectl -n shop rollout resume deployment/api`)", missing.Withheld[0].Reason, StringComparison.Ordinal);
        Assert.Contains("`kubectl rollout undo` refuses a paused Deployment too", missing.Withheld[1].Reason, StringComparison.Ordinal);
        Assert.Equal([RemediationKind.DeleteBackoffPods], transient.Remediations.Select(r => r.Kind));
        var restart = Assert.Single(transient.Withheld);
        Assert.Equal("Restart deployment/api", restart.Title);
        Assert.StartsWith("deployment/api is paused, and `kubectl rollout restart` refuses a paused Deployment too (\"can't restart paused deployment\")", restart.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cronjob_is_never_restarted_it_runs_now_and_a_tag_fix_says_it_runs_the_job_once()
    {
        var shape = new WorkloadShape("CronJob", "nightly");

        var transient = Transient(shape);
        var missing = TagMissing(shape);

        Assert.Equal([RemediationKind.DeleteBackoffPods, RemediationKind.RunCronJobNow], transient.Remediations.Select(r => r.Kind));
        Assert.Equal("Run cronjob/nightly now", transient.Remediations[1].Title);
        Assert.Contains("as `kubectl create job --from=cronjob/nightly` does", transient.Remediations[1].Description, StringComparison.Ordinal);
        Assert.Contains("each deleted pod counts as one failure toward the Job's backoffLimit", transient.Remediations[0].Description, StringComparison.Ordinal);
        Assert.DoesNotContain("rolling every pod", string.Join(' ', transient.Remediations.Select(r => r.Description)), StringComparison.Ordinal);
        Assert.Contains("`kubectl rollout restart` does not restart a CronJob", Assert.Single(transient.Withheld).Reason, StringComparison.Ordinal);
        var setTag = Assert.Single(missing.Remediations);
        Assert.Contains("The Job already running keeps its old template", setTag.Description, StringComparison.Ordinal);
        Assert.Contains("runs the job once now from the new one, as `kubectl create job --from=cronjob/nightly` does", setTag.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("StatefulSet")]
    [InlineData("DaemonSet")]
    public void An_OnDelete_workload_gets_no_restart_and_a_tag_fix_deletes_the_stuck_pods(string kind)
    {
        var shape = new WorkloadShape(kind, "db") { UpdateStrategy = "OnDelete" };

        Assert.Equal([RemediationKind.DeleteBackoffPods], Transient(shape).Remediations.Select(r => r.Kind));
        Assert.Contains("has updateStrategy OnDelete: a restart changes its template and replaces no pod", Assert.Single(Transient(shape).Withheld).Reason, StringComparison.Ordinal);
        Assert.Contains("the pods stuck in image-pull back-off are deleted afterwards and come back from the new template", Assert.Single(TagMissing(shape).Remediations).Description, StringComparison.Ordinal);
    }

    [Fact]
    public void A_partitioned_statefulset_says_which_pods_take_the_new_template()
    {
        var setTag = Assert.Single(TagMissing(new WorkloadShape("StatefulSet", "db") { Partition = 2, Replicas = 3 }).Remediations);

        Assert.Contains("With partition 2 only pods with ordinal 2 and above take the new template", setTag.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ReplicaSet", "has no Deployment, and a ReplicaSet does not replace its pods when its template changes")]
    [InlineData("Rollout", "The pods belong to Argo Rollouts Rollout api, which owns its ReplicaSets")]
    [InlineData("CloneSet", "The pods belong to CloneSet api, a controller the bot does not change")]
    public void Pods_of_a_replicaset_a_rollout_or_another_controller_get_only_fixes_that_act_through_pods(string kind, string why)
    {
        var shape = new WorkloadShape(kind, "api");

        Assert.Empty(TagMissing(shape).Remediations);
        Assert.Contains(why, Assert.Single(TagMissing(shape).Withheld).Reason, StringComparison.Ordinal);
        Assert.Equal([RemediationKind.DeleteBackoffPods], Transient(shape).Remediations.Select(r => r.Kind));
    }

    [Fact]
    public void A_template_change_on_a_workload_argo_cd_owns_carries_the_owner_and_pod_fixes_do_not()
    {
        var shape = new WorkloadShape("Deployment", "api") { Owner = ArgoCd };

        var missing = TagMissing(shape);
        var transient = Transient(shape);

        Assert.All(missing.Remediations, p => Assert.Equal(ArgoCd, p.ManagedBy));
        Assert.Null(transient.Remediations.Single(p => p.Kind == RemediationKind.DeleteBackoffPods).ManagedBy);
        Assert.Equal(ArgoCd, transient.Remediations.Single(p => p.Kind == RemediationKind.RestartWorkload).ManagedBy);
        Assert.Equal(ArgoCd, missing.Owner);
    }

    [Fact]
    public void Without_a_shape_the_plans_are_what_they_were()
    {
        var facts = Facts(new WorkloadShape("Deployment", "api"), PullCause.ImageNotFound, ["1.4.2"], (1, "ghcr.io/acme/api:1.4.2")) with { Shape = null };

        var diagnosis = DiagnosisPlanner.Plan(facts, [], Now);

        Assert.Equal([RemediationKind.SetImageTag, RemediationKind.RollBack], diagnosis.Remediations.Select(r => r.Kind));
        Assert.Equal("Sets container `app` of deployment/api to `ghcr.io/acme/api:1.4.2`, which the registry confirmed exists.", diagnosis.Remediations[0].Description);
        Assert.Empty(diagnosis.Withheld);
    }
}
