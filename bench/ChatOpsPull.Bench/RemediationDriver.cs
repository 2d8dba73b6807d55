using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Bench;

/// <summary>
/// Click-to-job-start latency and remediation jobs per second, on the real host (real Hangfire, real storage) against
/// the in-process fake Kubernetes API, with a "kubelet" loop that makes new pods Ready every 50 ms.
/// <code>
/// dotnet run -c Release --project bench/ChatOpsPull.Bench -- remediation sqlite|postgres [--clicks 60] [--jobs 200] [--workers 4] [--concurrency 8]
/// </code>
/// Setup (not measured): one failing Deployment, incident, diagnosis and pending "restart" request per click/job.
/// Latency: the Approve click (IChatActionHandler, as Slack/Teams/web call it) → the job's start (its "job started"
/// notification), one click at a time, 150 ms apart. Throughput: every remaining request approved with N concurrent
/// clickers; jobs/s = finished runs (applied, pods Ready, recorded) per second of wall time.
/// </summary>
public static class RemediationDriver
{
    public const string Mode = "remediation";

    private static readonly ChatUser Requester = new(ChatPlatform.Slack, "U0ALICE01", "alice", []);
    private static readonly ChatUser Approver = new(ChatPlatform.Slack, "U0BOB0001", "bob", []);

    public static async Task<int> RunAsync(string[] args)
    {
        var storage = args.ElementAtOrDefault(0) ?? "sqlite";
        var clicks = Option(args, "--clicks", 60);
        var jobs = Option(args, "--jobs", 200);
        var workers = Option(args, "--workers", 4);
        var concurrency = Option(args, "--concurrency", 8);
        await using var pg = storage == "postgres" ? await ThrowawayPostgres.StartAsync() : null;
        await using var api = await FakeKubernetesApi.StartAsync();
        var data = Directory.CreateTempSubdirectory("chatopspull-bench-remediation-").FullName;
        var probe = new RunProbe();
        using var stopKubelet = new CancellationTokenSource();
        try
        {
            var kubeconfig = api.WriteKubeconfig(Path.Combine(data, "kube"), contextNamespace: "chatopspull");
            var app = BotHost.Build(Settings(data, pg, kubeconfig, workers), builder =>
            {
                builder.Services.RemoveAll<IIncidentDiagnoser>();
                builder.Services.AddSingleton<IIncidentDiagnoser, RestartDiagnoser>();
                builder.Services.AddSingleton<IIncidentNotifier>(probe);
            });
            await app.StartAsync();
            var handler = app.Services.GetRequiredService<IChatActionHandler>();

            Console.WriteLine($"{storage}: preparing {clicks + jobs} failing deployments, incidents and pending requests (not measured)…");
            var requests = await PrepareAsync(app.Services, api, handler, clicks + jobs);
            var kubelet = Task.Run(() => KubeletAsync(api, stopKubelet.Token));
            await Task.Delay(2000); // workers settle into their idle wait

            var latencies = new List<double>();
            var replies = new List<double>();
            foreach (var (incidentId, approvalId) in requests.Take(clicks))
            {
                var clickedAt = DateTimeOffset.UtcNow;
                var watch = Stopwatch.StartNew();
                var reply = await handler.HandleAsync(new ChatActionRequest(Approver, new CardActionPayload(CardVerb.Approve, approvalId), "C0SHOP", null), CancellationToken.None);
                replies.Add(watch.Elapsed.TotalMilliseconds);
                if (!reply.Text.Contains("Running it now.", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("the approval did not go through: " + reply.Text);
                }

                var started = await probe.StartedAsync(incidentId, TimeSpan.FromSeconds(30));
                latencies.Add((started - clickedAt).TotalMilliseconds);
                await Task.Delay(150);
            }

            Report($"{storage}: Approve click → reply", replies);
            Report($"{storage}: Approve click → job started", latencies);

            var batch = requests.Skip(clicks).ToList();
            var finishedBefore = probe.Finished;
            var wall = Stopwatch.StartNew();
            var queue = new ConcurrentQueue<(string IncidentId, string ApprovalId)>(batch);
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                while (queue.TryDequeue(out var next))
                {
                    await handler.HandleAsync(new ChatActionRequest(Approver, new CardActionPayload(CardVerb.Approve, next.ApprovalId), "C0SHOP", null), CancellationToken.None);
                }
            })));
            var approvalsTook = wall.Elapsed;
            await probe.WaitFinishedAsync(finishedBefore + batch.Count, TimeSpan.FromMinutes(10));
            var took = wall.Elapsed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{storage}: {batch.Count} approvals in {approvalsTook.TotalSeconds:0.0} s ({batch.Count / approvalsTook.TotalSeconds:0.0}/s, {concurrency} clickers); " +
                $"{batch.Count} jobs finished (patched, pods Ready, recorded) in {took.TotalSeconds:0.0} s = {batch.Count / took.TotalSeconds:0.0} jobs/s with {workers} workers; failed runs: {probe.Failed}"));
            await stopKubelet.CancelAsync();
            await kubelet;
            await app.StopAsync();
            await app.DisposeAsync();
            return probe.Failed == 0 ? 0 : 1;
        }
        finally
        {
            TryDelete(data);
        }
    }

    private static async Task<List<(string IncidentId, string ApprovalId)>> PrepareAsync(IServiceProvider services, FakeKubernetesApi api, IChatActionHandler handler, int count)
    {
        var engine = services.GetRequiredService<IncidentEngine>();
        var store = services.GetRequiredService<IncidentStore>();
        var result = new List<(string, string)>();
        for (var i = 0; i < count; i++)
        {
            var name = "app-" + i.ToString("D4", CultureInfo.InvariantCulture);
            var image = $"registry.example.com/shop/{name}:1.0"; // one image per workload: no storm roll-up
            api.Seed(Deployment(name, image));
            foreach (var pod in api.Store.List(ResourceType.Of("pods"), "shop").Where(p => p["metadata"]?["labels"]?["app"]?.GetValue<string>() == name))
            {
                api.SetContainerWaiting("shop", ObjectStore.Name(pod), "app", "ImagePullBackOff", $"Back-off pulling image \"{image}\"");
                await engine.ReportAsync(
                    new PullFailure(FailureSource.KubernetesWatch, "prod", "shop", ObjectStore.Name(pod), "app", ContainerKind.Regular, image, "ImagePullBackOff", $"Back-off pulling image \"{image}\"", DateTimeOffset.UtcNow)
                    {
                        Workload = new WorkloadRef("Deployment", name),
                    },
                    CancellationToken.None);
            }
        }

        var deadline = DateTime.UtcNow.AddMinutes(5);
        foreach (var incident in (await store.ListOpenAsync("prod", "shop")).OrderBy(i => i.Workload?.Name, StringComparer.Ordinal))
        {
            var diagnosed = incident;
            while (diagnosed.Diagnosis is null)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{incident.Id} was not diagnosed in time");
                }

                await Task.Delay(20);
                diagnosed = (await store.GetAsync(incident.Id))!;
            }

            var plan = diagnosed.Diagnosis.Remediations.First(p => p.Kind == RemediationKind.RestartWorkload);
            var reply = await handler.HandleAsync(new ChatActionRequest(Requester, new CardActionPayload(CardVerb.Request, incident.Id, plan.Key), "C0SHOP", null), CancellationToken.None);
            var approve = reply.UpdatedCard?.Actions.FirstOrDefault(a => a.Payload.Verb == CardVerb.Approve)
                ?? throw new InvalidOperationException("the request was not made: " + reply.Text);
            result.Add((incident.Id, approve.Payload.Target));
        }

        return result;
    }

    /// <summary>Marks every pod of namespace shop Ready every 50 ms, as kubelet would once the image pulls.</summary>
    private static async Task KubeletAsync(FakeKubernetesApi api, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var pending = api.Store.List(ResourceType.Of("pods"), "shop").Any(p => p["status"]?["phase"]?.GetValue<string>() == "Pending");
            if (pending)
            {
                api.MarkPodsReady("shop");
            }

            try
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static JsonObject Deployment(string name, string image) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop", ["labels"] = new JsonObject { ["app"] = name } },
        ["spec"] = new JsonObject
        {
            ["replicas"] = 1,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
                ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = image }) },
            },
        },
    };

    private static string[] Settings(string data, ThrowawayPostgres? pg, string kubeconfig, int workers)
    {
        var settings = new List<string>
        {
            "--Urls=http://127.0.0.1:0",
            "--Bot:DataDirectory=" + data,
            "--Bot:Cluster=prod",
            "--Kubernetes:KubeconfigPath=" + kubeconfig,
            "--Kubernetes:WatchEnabled=false",
            "--Kubernetes:Lease:Enabled=false",
            "--Approvals:Rules:0:Namespace=shop",
            "--Approvals:Rules:0:Approvers:0=slack:" + Approver.Id,
            "--Remediation:RolloutPollInterval=00:00:00.100",
            "--Jobs:WorkerCount=" + workers.ToString(CultureInfo.InvariantCulture),
            "--Logging:LogLevel:Default=Warning",
        };
        if (pg is not null)
        {
            settings.Add("--Storage:Provider=Postgres");
            settings.Add("--Storage:ConnectionString=" + pg.ConnectionString);
        }

        return [.. settings];
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static void Report(string what, IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: n={sorted.Length} min={sorted[0]:0} ms median={At(0.5):0} ms p90={At(0.9):0} ms p99={At(0.99):0} ms max={sorted[^1]:0} ms"));
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A diagnosis that offers a restart: what a transient back-off gets from the planner.</summary>
    private sealed class RestartDiagnoser : IIncidentDiagnoser
    {
        public Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken)
        {
            var facts = new DiagnosisFacts(
                incident.Key.Cluster, incident.Key.Namespace, incident.Image, Core.Images.ImageReference.Parse(incident.Image), null, "ImagePullBackOff",
                incident.Pods[0].Message, incident.Workload, "app", "default", null, false, null, new PullSecretFacts([], [], null, [], true),
                new RegistryFacts(null, "pullable", [], null, []), false, null);
            return Task.FromResult(DiagnosisPlanner.Plan(facts, [new Evidence("manifest shop/app", EvidenceOutcome.Passed, "digest sha256:…")], DateTimeOffset.UtcNow));
        }
    }

    /// <summary>Hears when each incident's job started (its first "Running …" news) and how many runs finished.</summary>
    private sealed class RunProbe : IIncidentNotifier
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource<DateTimeOffset>> _started = new(StringComparer.Ordinal);
        private int _finished;
        private int _failed;

        public int Finished => Volatile.Read(ref _finished);

        public int Failed => Volatile.Read(ref _failed);

        public Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
        {
            var now = DateTimeOffset.UtcNow;
            if (change == IncidentChange.RemediationStarted && detail?.StartsWith("Running ", StringComparison.Ordinal) == true)
            {
                Source(incident.Id).TrySetResult(now);
            }
            else if (change == IncidentChange.RemediationFinished)
            {
                Interlocked.Increment(ref _finished);
                if (detail?.Contains("\" worked:", StringComparison.Ordinal) != true)
                {
                    Interlocked.Increment(ref _failed);
                    Console.WriteLine("run did not work: " + detail);
                }
            }

            return Task.CompletedTask;
        }

        public Task<DateTimeOffset> StartedAsync(string incidentId, TimeSpan timeout) => Source(incidentId).Task.WaitAsync(timeout);

        public async Task WaitFinishedAsync(int count, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (Finished < count)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"only {Finished} of {count} runs finished in time");
                }

                await Task.Delay(20);
            }
        }

        private TaskCompletionSource<DateTimeOffset> Source(string incidentId) =>
            _started.GetOrAdd(incidentId, _ => new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
