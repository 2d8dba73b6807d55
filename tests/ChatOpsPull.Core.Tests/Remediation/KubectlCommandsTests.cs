using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Tests.Remediation;

public sealed class KubectlCommandsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static RemediationPlan Plan(RemediationKind kind, string workloadKind = "Deployment", params (string Key, string Value)[] parameters) =>
        new(kind, "shop", workloadKind, "api", "title", "description", RemediationRisk.Medium, parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));

    [Fact]
    public void Each_fix_becomes_the_kubectl_command_that_does_what_the_action_does()
    {
        Assert.Equal(
            ["kubectl -n shop set image deployment/api app=ghcr.io/team/app:1.4.2"],
            KubectlCommands.For(Plan(RemediationKind.SetImageTag, "Deployment", ("container", "app"), ("image", "ghcr.io/team/app:1.4.2")), [], null, Now));
        Assert.Equal(
            ["kubectl -n shop rollout undo deployment/api --to-revision=3"],
            KubectlCommands.For(Plan(RemediationKind.RollBack, "Deployment", ("revision", "3")), [], null, Now));
        Assert.Equal(["kubectl -n shop rollout restart statefulset/api"], KubectlCommands.For(Plan(RemediationKind.RestartWorkload, "StatefulSet"), [], null, Now));
        Assert.Equal(["kubectl -n shop create job api-manual-2612011000 --from=cronjob/api"], KubectlCommands.For(Plan(RemediationKind.RunCronJobNow, "CronJob"), [], null, Now));
        Assert.Equal(["kubectl -n shop delete pod api-1 api-2"], KubectlCommands.For(Plan(RemediationKind.DeleteBackoffPods), ["api-1", "api-2"], null, Now));
        Assert.Equal(
            ["kubectl -n shop patch deployment/api -p '{\"spec\":{\"template\":{\"spec\":{\"imagePullSecrets\":[{\"name\":\"regcred\"}]}}}}'"],
            KubectlCommands.For(Plan(RemediationKind.AttachPullSecretToWorkload, "Deployment", ("secret", "regcred")), [], null, Now));
    }

    [Fact]
    public void A_CronJob_is_not_restarted_its_job_runs_once_as_kubectl_create_job_from_does()
    {
        Assert.Equal(
            ["# kubectl rollout restart does not restart a CronJob; run its job once now instead:", "kubectl -n shop create job api-manual-2612011000 --from=cronjob/api"],
            KubectlCommands.For(Plan(RemediationKind.RestartWorkload, "CronJob"), [], null, Now));
        Assert.Equal(
            ["kubectl -n shop set image cronjob/api app=ghcr.io/team/app:1.4.2", "# the Job already running keeps its old template; run the job once from the new one:", "kubectl -n shop create job api-manual-2612011000 --from=cronjob/api"],
            KubectlCommands.For(Plan(RemediationKind.SetImageTag, "CronJob", ("container", "app"), ("image", "ghcr.io/team/app:1.4.2")), [], null, Now));
    }

    [Fact]
    public void A_fix_on_a_workload_another_tool_owns_says_so_above_its_commands()
    {
        var plan = Plan(RemediationKind.SetImageTag, "Deployment", ("container", "app"), ("image", "ghcr.io/team/app:1.4.2")) with
        {
            ManagedBy = new WorkloadOwner(OwnerTool.ArgoCd, "storefront-prod", null, "annotation argocd.argoproj.io/tracking-id=storefront-prod:apps/Deployment:shop/api"),
        };

        var commands = KubectlCommands.For(plan, [], null, Now);

        Assert.StartsWith("# deployment/api is managed by Argo CD application storefront-prod: Argo CD puts the declared spec back", commands[0], StringComparison.Ordinal);
        Assert.Equal("kubectl -n shop set image deployment/api app=ghcr.io/team/app:1.4.2", commands[1]);
    }

    [Fact]
    public void A_manual_job_name_fits_the_63_characters_a_job_name_may_have()
    {
        Assert.Equal("nightly-manual-4f2a9c1d", ManualJob.Name("nightly", "4F2A9C1D"));
        var longest = ManualJob.Name(new string('a', 52), "4f2a9c1d");
        Assert.Equal(63, longest.Length);
        Assert.EndsWith("-manual-4f2a9c1d", longest, StringComparison.Ordinal);
        Assert.DoesNotContain("--", ManualJob.Name(new string('b', 46) + "-cc", "x1234567"), StringComparison.Ordinal);
    }

    [Fact]
    public void Attaching_to_a_service_account_appends_to_its_list_then_deletes_the_stuck_pods()
    {
        var commands = KubectlCommands.For(Plan(RemediationKind.AttachPullSecretToServiceAccount, "Deployment", ("secret", "regcred"), ("serviceAccount", "default")), ["api-1"], null, Now);

        Assert.Equal("kubectl -n shop patch serviceaccount default --type=json -p '[{\"op\":\"add\",\"path\":\"/imagePullSecrets/-\",\"value\":{\"name\":\"regcred\"}}]'", commands[0]);
        Assert.StartsWith("# when the ServiceAccount has no imagePullSecrets yet: ", commands[1], StringComparison.Ordinal);
        Assert.Equal("kubectl -n shop delete pod api-1", commands[2]);
    }

    [Fact]
    public void Refresh_copies_the_configured_source_and_says_it_copies_all_of_it()
    {
        var plan = Plan(RemediationKind.RefreshCredentials, "Deployment", ("registry", "ghcr.io"), ("secret", "pull-ghcr-io"), ("serviceAccount", "default"));

        var commands = KubectlCommands.For(plan, ["api-1"], new CredentialSourceRef("chatopspull", "ghcr-creds"), Now);

        Assert.Equal("# copies the whole source secret chatopspull/ghcr-creds (the bot copies only its ghcr.io entry)", commands[0]);
        Assert.Equal(
            "kubectl -n chatopspull get secret ghcr-creds -o jsonpath='{.data.\\.dockerconfigjson}' | base64 -d | kubectl -n shop create secret generic pull-ghcr-io --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=/dev/stdin --dry-run=client -o yaml | kubectl apply -f -",
            commands[1]);
        Assert.StartsWith("kubectl -n shop patch serviceaccount default", commands[2], StringComparison.Ordinal);
        Assert.Equal("kubectl -n shop delete pod api-1", commands[^1]);
    }

    [Theory]
    [InlineData("app';rm -rf /;'")]
    [InlineData("$(curl evil)")]
    [InlineData("a b")]
    [InlineData("x\ny")]
    public void A_value_with_shell_syntax_leaves_the_command_out(string hostile)
    {
        var commands = KubectlCommands.For(Plan(RemediationKind.SetImageTag, "Deployment", ("container", hostile), ("image", "ghcr.io/team/app:1")), [], null, Now);

        var line = Assert.Single(commands);
        Assert.StartsWith("# not shown: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("kubectl", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void Many_stuck_pods_are_named_up_to_the_limit_and_the_rest_counted()
    {
        var pods = Enumerable.Range(0, 25).Select(i => $"api-{i:00}").ToList();

        var line = Assert.Single(KubectlCommands.For(Plan(RemediationKind.DeleteBackoffPods), pods, null, Now));

        Assert.EndsWith("api-19   # and 5 more", line, StringComparison.Ordinal);
    }
}
