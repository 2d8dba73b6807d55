using ChatOpsPull.Diagnosing;
using ChatOpsPull.Observability;
using ChatOpsPull.Registry;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Kubernetes;
using k8s.Autorest;
using k8s.Exceptions;

namespace ChatOpsPull.Cli;

/// <summary>
/// <c>chatopspull diagnose [-n namespace] [--all-namespaces] [--kubeconfig path] [--context name]</c>: finds the pods of
/// the kubeconfig's cluster that cannot pull, diagnoses each failing container and prints the result.
/// Exit 0 when nothing fails, 1 when something does, 2 for usage or connection errors.
/// Gathering (<see cref="DiagnoseVerb.GatherAsync"/>) and printing (<see cref="DiagnoseReport"/>) are separate; the
/// diagnoser is taken from DI, so registry evidence comes in by registering another <see cref="IPullFailureDiagnoser"/>.
/// </summary>
public static class DiagnoseVerb
{
    public const string Usage = "usage: chatopspull diagnose [-n namespace] [--all-namespaces] [--kubeconfig path] [--context name]";

    public static CliVerb Verb { get; } = new("diagnose", "Diagnose the pods of the current kubeconfig's cluster that cannot pull their image.", RunAsync);

    public sealed record Arguments(string? Namespace, bool AllNamespaces, string? Kubeconfig, string? Context);

    /// <summary>One diagnosed container, ready to print.</summary>
    public sealed record Result(PullFailure Failure, Core.Diagnoses.Diagnosis Diagnosis);

    public static async Task<int> RunAsync(string[] args, CliIo io)
    {
        if (!TryParse(args, out var arguments, out var error))
        {
            await io.Error.WriteLineAsync($"chatopspull diagnose: {error}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        var connection = await CliKubeconfig.ConnectAsync("diagnose", arguments.Kubeconfig, arguments.Context, io, "no kubeconfig found ($KUBECONFIG or ~/.kube/config); pass --kubeconfig PATH.").ConfigureAwait(false);
        if (connection is null)
        {
            return 2;
        }

        using (connection)
        await using (var services = BuildServices(connection))
        {
            var ns = arguments.AllNamespaces ? null : arguments.Namespace ?? connection.OwnNamespace ?? "default";
            try
            {
                var results = await GatherAsync(services, "cli", ns, CancellationToken.None).ConfigureAwait(false);
                DiagnoseReport.Print(io.Out, ns, results);
                return results.Count == 0 ? 0 : 1;
            }
            catch (HttpOperationException e)
            {
                var apiError = ApiError.From(e);
                await io.Error.WriteLineAsync($"chatopspull diagnose: the API server refused: {apiError.Message}").ConfigureAwait(false);
                return 2;
            }
            catch (HttpRequestException e)
            {
                await io.Error.WriteLineAsync($"chatopspull diagnose: cannot reach the API server: {e.Message}").ConfigureAwait(false);
                return 2;
            }
        }
    }

    /// <summary>
    /// The services the verb uses: cluster inspection plus the evidence diagnoser, which asks the registry with each
    /// pod's own pull secrets. Registry settings come from CHATOPSPULL__Registry__* environment variables.
    /// </summary>
    public static ServiceProvider BuildServices(KubernetesConnection connection)
    {
        var client = connection.Client ?? throw new InvalidOperationException(connection.Description);
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables("CHATOPSPULL__").Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton<BotMetrics>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(connection);
        services.AddSingleton(client);
        services.AddSingleton<OwnerResolver>();
        services.AddSingleton<PullSecretInspector>();
        services.AddSingleton<NodeInspector>();
        services.AddSingleton<PodInspector>();
        services.AddSingleton<FailingPodFinder>();
        services.AddSingleton(ClusterApiServer.FromEnvironment(client.BaseUri)); // no registry check may reach the cluster the verb inspects
        services.AddRegistry(configuration);
        services.AddDiagnosis();
        return services.BuildServiceProvider();
    }

    /// <summary>Finds failing containers and diagnoses each (pods are inspected once, however many containers fail).</summary>
    public static async Task<IReadOnlyList<Result>> GatherAsync(IServiceProvider services, string cluster, string? @namespace, CancellationToken cancellationToken)
    {
        var finder = services.GetRequiredService<FailingPodFinder>();
        var inspector = services.GetRequiredService<PodInspector>();
        var diagnoser = services.GetRequiredService<IPullFailureDiagnoser>();
        var failing = await finder.FindAsync(cluster, @namespace, cancellationToken).ConfigureAwait(false);
        var inspections = new Dictionary<string, PodInspection>(StringComparer.Ordinal);
        var results = new List<Result>(failing.Count);
        foreach (var item in failing)
        {
            if (!inspections.TryGetValue(item.Pod.Metadata.Uid, out var inspection))
            {
                inspection = await inspector.InspectAsync(item.Pod, cancellationToken).ConfigureAwait(false);
                inspections[item.Pod.Metadata.Uid] = inspection;
            }

            var failure = item.Failure with { Workload = inspection.Owners.Workload };
            results.Add(new Result(failure, await diagnoser.DiagnoseAsync(failure, inspection, cancellationToken).ConfigureAwait(false)));
        }

        return results;
    }

    public static bool TryParse(string[] args, out Arguments arguments, out string? error)
    {
        string? ns = null, kubeconfig = null, context = null;
        var all = false;
        arguments = new Arguments(null, false, null, null);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string? Value(ref int index)
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
                {
                    return arg[(eq + 1)..];
                }

                return index + 1 < args.Length ? args[++index] : null;
            }

            var name = arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains('=', StringComparison.Ordinal) ? arg[..arg.IndexOf('=', StringComparison.Ordinal)] : arg;
            switch (name)
            {
                case "-n" or "--namespace":
                    ns = Value(ref i);
                    if (string.IsNullOrEmpty(ns))
                    {
                        error = $"{name} needs a namespace";
                        return false;
                    }

                    break;
                case "-A" or "--all-namespaces":
                    all = true;
                    break;
                case "--kubeconfig":
                    kubeconfig = Value(ref i);
                    if (string.IsNullOrEmpty(kubeconfig))
                    {
                        error = "--kubeconfig needs a path";
                        return false;
                    }

                    break;
                case "--context":
                    context = Value(ref i);
                    if (string.IsNullOrEmpty(context))
                    {
                        error = "--context needs a context name";
                        return false;
                    }

                    break;
                default:
                    error = $"unknown option '{arg}'";
                    return false;
            }
        }

        if (all && ns is not null)
        {
            error = "use either -n NAMESPACE or --all-namespaces, not both";
            return false;
        }

        arguments = new Arguments(ns, all, kubeconfig, context);
        error = null;
        return true;
    }
}

/// <summary>Prints diagnosed containers for a terminal.</summary>
public static class DiagnoseReport
{
    public static void Print(TextWriter output, string? @namespace, IReadOnlyList<DiagnoseVerb.Result> results)
    {
        var scope = @namespace is null ? "all namespaces" : $"namespace {@namespace}";
        if (results.Count == 0)
        {
            output.WriteLine($"No container in {scope} is failing to pull its image.");
            return;
        }

        output.WriteLine($"{results.Count} container{(results.Count == 1 ? string.Empty : "s")} in {scope} cannot pull {(results.Count == 1 ? "its image" : "their images")}:");
        foreach (var (failure, diagnosis) in results)
        {
            output.WriteLine();
            var kind = failure.ContainerKind switch
            {
                ContainerKind.Regular => "container",
                ContainerKind.Init => "init container",
                ContainerKind.Ephemeral => "ephemeral container",
                _ => throw new ArgumentOutOfRangeException(nameof(results), failure.ContainerKind, "unknown container kind"),
            };
            output.WriteLine($"{failure.Namespace}/{failure.Pod} {kind} {failure.Container}{(failure.Workload is null ? string.Empty : $" ({failure.Workload})")}");
            output.WriteLine($"  image:   {failure.Image}{(failure.PullPolicy is null ? string.Empty : $" (imagePullPolicy {failure.PullPolicy})")}");
            output.WriteLine($"  reason:  {failure.Reason}{(failure.NodeName is null ? string.Empty : $" on node {failure.NodeName}")}");
            output.WriteLine($"  cause:   {diagnosis.Cause.Describe()} — {diagnosis.ConfidenceLabel} confidence");
            output.WriteLine($"  summary: {diagnosis.Summary}");
            foreach (var evidence in diagnosis.Evidence)
            {
                var mark = evidence.Outcome switch
                {
                    EvidenceOutcome.Passed => "ok  ",
                    EvidenceOutcome.Failed => "FAIL",
                    EvidenceOutcome.Info => "info",
                    EvidenceOutcome.Skipped => "skip",
                    _ => throw new ArgumentOutOfRangeException(nameof(results), evidence.Outcome, "unknown outcome"),
                };
                var took = evidence.Duration is { } d ? $" ({d.TotalMilliseconds:0} ms)" : string.Empty;
                output.WriteLine($"  [{mark}] {evidence.Check}: {evidence.Detail}{took}");
            }

            foreach (var plan in diagnosis.Remediations)
            {
                output.WriteLine($"  fix:     {plan}");
            }
        }
    }
}
