using System.Text.Json.Nodes;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Runs a CronJob's job once now, the way <c>kubectl create job NAME --from=cronjob/CRON</c> does (kubectl's
/// createJobFromCronJob): a Job whose spec is the CronJob's <c>jobTemplate.spec</c>, whose labels are the job template's,
/// whose annotations are <c>cronjob.kubernetes.io/instantiate: manual</c> and the job template's, and whose one owner
/// reference names the CronJob (apiVersion, kind, name, uid; no controller flag, as kubectl writes it). The name is fixed
/// per run (<see cref="ManualJob.Name"/>), so a resumed run finds the Job it created instead of creating a second one.
/// </summary>
public sealed class CronJobRuns(ClusterAccess cluster)
{
    /// <summary>The Job kubectl would create from <paramref name="cronJob"/> (as read from the API) under <paramref name="name"/>.</summary>
    public static JsonObject JobFrom(JsonObject cronJob, string name)
    {
        ArgumentNullException.ThrowIfNull(cronJob);
        var metadata = cronJob["metadata"];
        var template = cronJob["spec"]?["jobTemplate"];
        var annotations = new JsonObject { [ManualJob.InstantiateAnnotation] = ManualJob.InstantiateValue };
        foreach (var (key, value) in template?["metadata"]?["annotations"] as JsonObject ?? [])
        {
            annotations[key] = value?.DeepClone();
        }

        var jobMetadata = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = metadata?["namespace"]?.DeepClone(),
            ["annotations"] = annotations,
            ["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = "batch/v1",
                ["kind"] = "CronJob",
                ["name"] = metadata?["name"]?.DeepClone(),
                ["uid"] = metadata?["uid"]?.DeepClone(),
            }),
        };
        if (template?["metadata"]?["labels"] is JsonObject labels)
        {
            jobMetadata["labels"] = labels.DeepClone();
        }

        return new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = jobMetadata,
            ["spec"] = template?["spec"]?.DeepClone() ?? throw new RemediationRefusedException($"cronjob {metadata?["name"]} has no job template"),
        };
    }

    /// <summary>Creates the Job with dryRun=All (this also proves the bot may create Jobs there) and says what it would be.</summary>
    public async Task<string> DryRunAsync(string @namespace, string cronJob, CancellationToken cancellationToken)
    {
        var current = await cluster.ReadWorkloadAsync("CronJob", @namespace, cronJob, cancellationToken).ConfigureAwait(false);
        var name = ManualJob.Name(cronJob, "dryrun");
        await cluster.Calls.RunAsync(
            KubeTarget.For("create", "Job", @namespace),
            ct => cluster.CreateJobOnceAsync(@namespace, JobFrom(current, name), dryRun: true, ct),
            cancellationToken).ConfigureAwait(false);
        return $"create job {ManualJob.Name(cronJob, "<run>")} from cronjob/{cronJob} ({Images(current)})";
    }

    /// <summary>
    /// Creates the Job as step <paramref name="step"/> (its name stored first as the step's intent). A Job of that name
    /// already owned by this CronJob is the one an earlier attempt created; one owned by anything else is refused.
    /// </summary>
    public Task<string> CreateAsync(string @namespace, string cronJob, StepLog steps, string step, CancellationToken cancellationToken) =>
        steps.RunAsync(step, ManualJob.Name(cronJob, steps.RunSuffix), async (intent, ct) =>
        {
            var name = intent!;
            var current = await cluster.ReadWorkloadAsync("CronJob", @namespace, cronJob, ct).ConfigureAwait(false);
            try
            {
                await cluster.Calls.RunAsync(
                    KubeTarget.For("create", "Job", @namespace),
                    c => cluster.CreateJobOnceAsync(@namespace, JobFrom(current, name), dryRun: false, c),
                    ct).ConfigureAwait(false);
                return $"created job {name} from cronjob/{cronJob} ({Images(current)})";
            }
            catch (Exception e) when (KubernetesCalls.IsAlreadyExists(e))
            {
                var existing = await cluster.ReadJobAsync(@namespace, name, ct).ConfigureAwait(false);
                var cronUid = current["metadata"]?["uid"]?.GetValue<string>();
                if (existing?.Metadata.OwnerReferences?.Any(o => o.Kind == "CronJob" && o.Uid == cronUid) == true)
                {
                    return $"job {name} from cronjob/{cronJob} was already created";
                }

                throw new RemediationRefusedException($"a job named {name} already exists in namespace {@namespace} and does not come from cronjob/{cronJob}; nothing was created");
            }
        }, cancellationToken);

    /// <summary>The Job the step created (its stored intent), or null before it ran.</summary>
    public static async Task<string?> CreatedJobAsync(StepLog steps, string step, string cronJob, CancellationToken cancellationToken) =>
        await steps.ResultOfAsync(step, cancellationToken).ConfigureAwait(false) is null ? null : ManualJob.Name(cronJob, steps.RunSuffix);

    private static string Images(JsonObject cronJob) => string.Join(", ",
        (ClusterAccess.Template(cronJob, "CronJob")?["spec"]?["containers"] as JsonArray ?? [])
            .Select(c => $"{c?["name"]?.GetValue<string>()}={c?["image"]?.GetValue<string>()}"));
}
