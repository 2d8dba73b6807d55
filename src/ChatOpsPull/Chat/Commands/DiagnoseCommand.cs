using System.Text.Json;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Commands;

/// <summary>
/// <c>diagnose &lt;namespace&gt;/&lt;pod&gt;</c>: reads the pod and its Warning events now, and runs the diagnosis
/// (<see cref="IPullFailureDiagnoser"/>: cluster evidence, plus registry checks where that diagnoser is registered) for
/// each container that cannot pull. Slack gets "Working on it…" first when this takes longer than its inline budget.
/// In a fleet, a pod of another cluster is read by that cluster's bot: the question is relayed through the shared database
/// and a job on that cluster's queue (<see cref="RelayedDiagnoseJob"/>), and its answer is this command's reply.
/// </summary>
public sealed class DiagnoseCommand(
    KubernetesConnection connection,
    IServiceProvider services,
    IncidentStore incidents,
    FixOffer fixes,
    ClusterQueues queues,
    IOptionsMonitor<BotOptions> bot,
    IOptionsMonitor<FleetOptions> fleetOptions,
    TimeProvider time)
{
    private static readonly JsonSerializerOptions AnswerJson = new(JsonSerializerDefaults.Web);

    /// <summary>How often the asking bot looks for the relayed answer.</summary>
    private static readonly TimeSpan RelayPoll = TimeSpan.FromMilliseconds(200);

    public async Task<ChatReply> AnswerAsync(ChatCommand.Diagnose command, CancellationToken cancellationToken)
    {
        var name = $"{command.Namespace}/{command.Pod}";
        if (command.Cluster is { } other && !(queues.FleetMode ? queues.RunsHere(other) : string.Equals(other, bot.CurrentValue.Cluster, StringComparison.Ordinal)))
        {
            if (queues.FleetMode && await RelayAsync(other, command, cancellationToken).ConfigureAwait(false) is { } relayed)
            {
                return relayed;
            }

            // Reading a pod live takes the cluster's own credentials, which only that cluster's bot holds.
            var openThere = (await incidents.ListOpenAsync(other, command.Namespace, cancellationToken).ConfigureAwait(false))
                .Where(i => i.Pods.Any(p => string.Equals(p.Pod, command.Pod, StringComparison.Ordinal)))
                .Select(i => $"`{i.Id}`")
                .ToList();
            var known = openThere.Count > 0 ? $" Its open incident{(openThere.Count == 1 ? string.Empty : "s")} {string.Join(", ", openThere)} carr{(openThere.Count == 1 ? "ies" : "y")} the diagnosis that cluster's bot made; `status --cluster {other}` lists them." : $" `status --cluster {other}` lists that cluster's open incidents.";
            var self = queues.FleetMode && queues.Own is null ? "the fleet's chat replica, with no cluster" : $"cluster {bot.CurrentValue.Cluster}'s bot";
            var why = queues.FleetMode
                ? await WhyNotRelayedAsync(other, cancellationToken).ConfigureAwait(false)
                : $"this is {self}, and only cluster {other}'s bot holds its credentials.";
            return new ChatReply($"I cannot read {other}/{name} live: {why}{known}");
        }

        if (connection.Client is not { } client)
        {
            return new ChatReply($"I cannot diagnose {name}: this bot is not connected to a Kubernetes cluster. {connection.Description}");
        }

        var inspector = services.GetRequiredService<PodInspector>();
        var (inspection, unreadable) = await inspector.InspectAsync(command.Namespace, command.Pod, cancellationToken).ConfigureAwait(false);
        if (unreadable is not null || inspection?.PodObject is not { } pod)
        {
            return new ChatReply($"I cannot diagnose {name}: {unreadable?.Reason ?? "the pod could not be read"}.");
        }

        var failing = PodPullState.FailingContainers(pod);
        if (failing.Count == 0)
        {
            var phase = pod.Status?.Phase ?? "Unknown";
            var ready = PodPullState.IsReady(pod) ? "Ready" : "not Ready";
            return new ChatReply($"Pod {name} is not failing to pull an image (phase {phase}, {ready}): no container is waiting on ErrImagePull, ImagePullBackOff, InvalidImageName or ErrImageNeverPull. Nothing to diagnose.");
        }

        var messages = await RuntimeMessagesAsync(client, pod, cancellationToken).ConfigureAwait(false);
        var cluster = bot.CurrentValue.Cluster;
        var diagnoser = services.GetRequiredService<IPullFailureDiagnoser>();
        var now = time.GetUtcNow();
        var first = failing[0];
        var failure = new PullFailure(
            FailureSource.Cli,
            cluster,
            command.Namespace,
            command.Pod,
            first.Container,
            first.Kind,
            first.Image,
            first.Reason,
            messages.GetValueOrDefault(first.Container, first.StatusMessage),
            now)
        {
            NodeName = pod.Spec?.NodeName,
            PullPolicy = first.PullPolicy,
            Workload = inspection.Owners.Workload,
        };

        var diagnosis = await diagnoser.DiagnoseAsync(failure, inspection, cancellationToken).ConfigureAwait(false);
        var open = await incidents.OpenWithPodAsync(cluster, command.Namespace, command.Pod, first.Container, cancellationToken).ConfigureAwait(false);
        var others = failing.Skip(1).Select(c => $"`{c.Container}` ({c.Reason}) · {c.Image}").ToList();
        var card = DiagnosisCard.Build(failure, diagnosis, open.Select(o => o.Id).FirstOrDefault(), others, time.GetUtcNow(), fixes.CommandsFor(diagnosis.Remediations, command.Pod));
        return new ChatReply(card.FallbackText) { Card = card };
    }

    /// <summary>
    /// Answers a relayed question on the pod's own cluster's bot (<see cref="RelayedDiagnoseJob"/>): the reply as JSON
    /// (text and card), or null when this bot is not of that cluster.
    /// </summary>
    public async Task<string?> AnswerRelayedAsync(FleetRelay relay, CancellationToken cancellationToken)
    {
        if (!queues.RunsHere(relay.Cluster))
        {
            return null;
        }

        var reply = await AnswerAsync(new ChatCommand.Diagnose(relay.Namespace, relay.Subject), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Serialize(new RelayedReply(reply.Text, reply.Card), AnswerJson);
    }

    /// <summary>
    /// Asks <paramref name="cluster"/>'s bot to diagnose the pod and waits (Fleet:RelayTimeout) for its answer. Null when
    /// the question cannot go there (the cluster never joined, or no bot of it is live) or no answer came in time.
    /// </summary>
    private async Task<ChatReply?> RelayAsync(string cluster, ChatCommand.Diagnose command, CancellationToken cancellationToken)
    {
        var fleet = services.GetRequiredService<FleetRegistry>();
        if (!await fleet.IsLiveAsync(cluster, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var relays = services.GetRequiredService<FleetRelays>();
        var relay = await relays.AskAsync(cluster, command.Namespace, command.Pod, fleetOptions.CurrentValue.RelayTimeout, cancellationToken).ConfigureAwait(false);
        services.GetRequiredService<ClusterJobs>().Enqueue<RelayedDiagnoseJob>(cluster, job => job.RunAsync(relay.Id, CancellationToken.None));
        var answer = await relays.WaitForAnswerAsync(relay, RelayPoll, cancellationToken).ConfigureAwait(false);
        if (answer is null || JsonSerializer.Deserialize<RelayedReply>(answer, AnswerJson) is not { } reply)
        {
            return null;
        }

        return new ChatReply($"Read live by cluster {cluster}'s bot: {reply.Text}") { Card = reply.Card };
    }

    /// <summary>Why another cluster's pod is not read live from here, in a fleet.</summary>
    private async Task<string> WhyNotRelayedAsync(string cluster, CancellationToken cancellationToken)
    {
        var known = await services.GetRequiredService<FleetRegistry>().FindAsync(cluster, cancellationToken).ConfigureAwait(false);
        return known switch
        {
            null => $"no bot of cluster {cluster} has joined this fleet, and only that cluster's bot holds its credentials.",
            { IsLive: false } => $"waiting for cluster {cluster}: no bot of it is running now (last heard of {known.LastSeen:yyyy-MM-dd HH:mm} UTC), and only that cluster's bot holds its credentials. Ask again when it is back.",
            _ => $"cluster {cluster}'s bot did not answer within {fleetOptions.CurrentValue.RelayTimeout.TotalSeconds:0} s (it may be busy or its job server behind); ask again in a moment.",
        };
    }

    /// <summary>A reply as it crosses the shared database from the pod's cluster's bot to the asking bot.</summary>
    private sealed record RelayedReply(string Text, Card? Card);

    /// <summary>The newest kubelet runtime message of each failing container, from the pod's Warning events.</summary>
    private static async Task<Dictionary<string, string>> RuntimeMessagesAsync(IKubernetes client, k8s.Models.V1Pod pod, CancellationToken cancellationToken)
    {
        var tracker = new PullFailureTracker();
        var messages = new Dictionary<string, string>(StringComparer.Ordinal);
        Collect(tracker.ObservePod(pod), messages);
        try
        {
            var events = await client.CoreV1.ListNamespacedEventAsync(
                pod.Metadata.NamespaceProperty,
                fieldSelector: $"involvedObject.kind=Pod,involvedObject.name={pod.Metadata.Name},type=Warning",
                cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var warning in (events.Items ?? [])
                         .Where(e => e.InvolvedObject?.Uid == pod.Metadata.Uid && PodPullState.IsPullWarning(e.Reason, e.Message))
                         .OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata.CreationTimestamp))
            {
                Collect(tracker.ObserveWarning(warning), messages);
            }
        }
        catch (HttpOperationException)
        {
            // Events are a bonus (the container status has a message too); no permission or a failed list is not fatal.
        }

        return messages;
    }

    private static void Collect(IReadOnlyList<TrackerChange> changes, Dictionary<string, string> messages)
    {
        foreach (var change in changes)
        {
            if (change is FailureChange failure)
            {
                messages[failure.State.Container] = failure.Message;
            }
        }
    }
}
