using System.Net;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;

namespace ChatOpsPull.Cli.Demo;

/// <summary>
/// <c>chatopspull demo</c>: with a reachable cluster (the kubeconfig's), creates a namespace with three Deployments that
/// cannot pull their images, for the bot to notice, diagnose and offer fixes for; <c>demo --clean</c> deletes everything
/// the demo labelled. It acts with the person's own kubeconfig, never as the bot's ServiceAccount.
/// </summary>
public static class DemoVerb
{
    public const string Usage = """
        usage: chatopspull demo [--clean] [-n namespace] [--kubeconfig path] [--context name]
               chatopspull demo --simulate [--urls URL] [--Section:Key=value ...]

        With a cluster you may create namespaces in (kind, minikube, k3d, a test cluster): creates the namespace
        chatopspull-demo (or -n) with three Deployments that cannot pull their images — a tag that does not exist, a
        private repository without a pull secret, an invalid image name — all labelled app.kubernetes.io/part-of=chatopspull-demo,
        and says where to look. --clean deletes every Deployment and namespace with that label.
        Exit 0 when done, 2 for usage errors or a cluster that cannot be reached or refuses.

        --simulate (or a bare 'demo' on a machine with no kubeconfig): no cluster needed. Runs the bot with a SIMULATED
        cluster in this process — a Kubernetes API server, a kubelet and a registry on loopback, cluster name "simulated",
        marked on every card — with the same three workloads, the embedded SQLite database in a temp directory and the web
        page (it prints the URL and a one-time password), so the whole loop shows: diagnose, approve, fix, Ready. It never
        uses real Kubernetes credentials or fleet mode. Other options are the bot's own (e.g. --urls, Slack or Teams
        settings). Stop with Ctrl+C.
        """;

    public static CliVerb Verb { get; } = new("demo", "Create three workloads that cannot pull (or --clean them) to see the bot work.", RunAsync, Usage);

    private sealed record Arguments(bool Clean, string Namespace, string? Kubeconfig, string? Context);

    public static async Task<int> RunAsync(string[] args, CliIo io)
    {
        if (!TryParse(args, out var arguments, out var problem))
        {
            await io.Error.WriteLineAsync($"chatopspull demo: {problem}. Run 'chatopspull demo --help'.").ConfigureAwait(false);
            return 2;
        }

        if (arguments is null)
        {
            await io.Out.WriteLineAsync(Usage).ConfigureAwait(false);
            return 0;
        }

        var connection = await CliKubeconfig.ConnectAsync(
            "demo",
            arguments.Kubeconfig,
            arguments.Context,
            io,
            "no cluster: no kubeconfig was found ($KUBECONFIG or ~/.kube/config). Start a local cluster (kind create cluster, minikube start, k3d cluster create) or pass --kubeconfig PATH. Without a cluster, 'chatopspull demo --simulate' shows the whole loop against a simulated one.").ConfigureAwait(false);
        if (connection is null)
        {
            return 2;
        }

        using (connection)
        {
            var client = connection.Client!;
            try
            {
                return arguments.Clean
                    ? await CleanAsync(client, io).ConfigureAwait(false)
                    : await CreateAsync(client, arguments.Namespace, connection.Description, io).ConfigureAwait(false);
            }
            catch (HttpOperationException e)
            {
                await io.Error.WriteLineAsync($"chatopspull demo: the API server refused: {ApiError.From(e).Message}").ConfigureAwait(false);
                return 2;
            }
            catch (HttpRequestException e)
            {
                await io.Error.WriteLineAsync($"chatopspull demo: cannot reach the cluster ({connection.Description}): {e.Message}").ConfigureAwait(false);
                return 2;
            }
        }
    }

    private static async Task<int> CreateAsync(IKubernetes client, string @namespace, string where, CliIo io)
    {
        var ours = true;
        try
        {
            var existing = await client.CoreV1.ReadNamespaceAsync(@namespace).ConfigureAwait(false);
            ours = existing.Metadata.Labels?.TryGetValue(DemoWorkloads.LabelKey, out var value) == true && value == DemoWorkloads.LabelValue;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            await client.CoreV1.CreateNamespaceAsync(DemoWorkloads.Namespace(@namespace)).ConfigureAwait(false);
        }

        foreach (var workload in DemoWorkloads.All)
        {
            var deployment = DemoWorkloads.Deployment(workload, @namespace);
            try
            {
                var current = await client.AppsV1.ReadNamespacedDeploymentAsync(workload.Name, @namespace).ConfigureAwait(false);
                deployment.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
                await client.AppsV1.ReplaceNamespacedDeploymentAsync(deployment, workload.Name, @namespace).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                await client.AppsV1.CreateNamespacedDeploymentAsync(deployment, @namespace).ConfigureAwait(false);
            }
        }

        var o = io.Out;
        await o.WriteLineAsync(where).ConfigureAwait(false);
        await o.WriteLineAsync($"{(ours ? "Namespace" : "Existing namespace")} {@namespace} now has three Deployments that cannot pull their images (labelled {DemoWorkloads.Label}):").ConfigureAwait(false);
        foreach (var workload in DemoWorkloads.All)
        {
            await o.WriteLineAsync($"  {workload.Name,-14} {workload.Image,-50} {workload.Why}").ConfigureAwait(false);
        }

        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync("Where to look:").ConfigureAwait(false);
        await o.WriteLineAsync($"  kubectl -n {@namespace} get pods          ErrImagePull, ImagePullBackOff, InvalidImageName within a minute").ConfigureAwait(false);
        await o.WriteLineAsync($"  chatopspull diagnose -n {@namespace}      the diagnosis of each, in this terminal").ConfigureAwait(false);
        await o.WriteLineAsync("  chatopspull serve, then http://127.0.0.1:8080/   one card per workload, with the fixes as buttons (the bot watches with this kubeconfig)").ConfigureAwait(false);
        await o.WriteLineAsync("Remove everything the demo made: chatopspull demo --clean").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> CleanAsync(IKubernetes client, CliIo io)
    {
        var deployments = await client.AppsV1.ListDeploymentForAllNamespacesAsync(labelSelector: DemoWorkloads.Label).ConfigureAwait(false);
        foreach (var deployment in deployments.Items)
        {
            await DeleteAsync(() => client.AppsV1.DeleteNamespacedDeploymentAsync(deployment.Metadata.Name, deployment.Metadata.NamespaceProperty, propagationPolicy: "Foreground")).ConfigureAwait(false);
            await io.Out.WriteLineAsync($"deleted deployment {deployment.Metadata.NamespaceProperty}/{deployment.Metadata.Name}").ConfigureAwait(false);
        }

        var namespaces = await client.CoreV1.ListNamespaceAsync(labelSelector: DemoWorkloads.Label).ConfigureAwait(false);
        foreach (var ns in namespaces.Items)
        {
            await DeleteAsync(() => client.CoreV1.DeleteNamespaceAsync(ns.Metadata.Name)).ConfigureAwait(false);
            await io.Out.WriteLineAsync($"deleted namespace {ns.Metadata.Name}").ConfigureAwait(false);
        }

        if (deployments.Items.Count == 0 && namespaces.Items.Count == 0)
        {
            await io.Out.WriteLineAsync($"Nothing labelled {DemoWorkloads.Label}: nothing to delete.").ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>Deletes; already gone is fine (a second --clean, or the namespace took it).</summary>
    private static async Task DeleteAsync(Func<Task> delete)
    {
        try
        {
            await delete().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>Null arguments with no problem: help was asked for.</summary>
    private static bool TryParse(string[] args, out Arguments? arguments, out string? problem)
    {
        arguments = null;
        problem = null;
        var (clean, ns, kubeconfig, context) = (false, DemoWorkloads.DefaultNamespace, (string?)null, (string?)null);
        for (var i = 0; i < args.Length; i++)
        {
            var (name, inline) = args[i].Split('=', 2) is [var n, var v] && n.StartsWith("--", StringComparison.Ordinal) ? (n, v) : (args[i], null);
            switch (name)
            {
                case "-h" or "--help":
                    return true;
                case "--clean" when inline is null:
                    clean = true;
                    continue;
                case "-n" or "--namespace" or "--kubeconfig" or "--context":
                    var value = inline ?? (i + 1 < args.Length ? args[++i] : null);
                    if (string.IsNullOrWhiteSpace(value))
                    {
                        problem = $"{name} needs a value";
                        return false;
                    }

                    if (name is "-n" or "--namespace")
                    {
                        if (!IsNamespaceName(value))
                        {
                            problem = $"'{value}' is not a namespace name (lower-case letters, digits and '-', at most 63)";
                            return false;
                        }

                        ns = value;
                    }
                    else if (name == "--kubeconfig")
                    {
                        kubeconfig = value;
                    }
                    else
                    {
                        context = value;
                    }

                    continue;
                default:
                    problem = args[i].StartsWith('-') ? $"unknown option '{args[i]}'" : $"unexpected argument '{args[i]}'";
                    return false;
            }
        }

        arguments = new Arguments(clean, ns, kubeconfig, context);
        return true;
    }

    private static bool IsNamespaceName(string value) =>
        value.Length is > 0 and <= 63 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
        && value[0] != '-' && value[^1] != '-';
}
