using ChatOpsPull.Core.Failures;
using ChatOpsPull.Fleet;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Options;
using ChatOpsPull.Diagnosing;

namespace ChatOpsPull.Chat.Commands;

/// <summary>
/// <c>diagnose &lt;namespace&gt;/&lt;pod&gt;</c>: reads the pod and its Warning events now, and runs the diagnosis
/// (<see cref="IPullFailureDiagnoser"/>: cluster evidence, plus registry checks where that diagnoser is registered) for
/// each container that cannot pull. Slack gets "Working on it…" first when this takes longer than its inline budget.
/// </summary>
public sealed class DiagnoseCommand(
    KubernetesConnection connection,
    IServiceProvider services,
    IncidentStore incidents,
    Cards.FixOffer fixes,
    ClusterQueues queues,
    IOptionsMonitor<BotOptions> bot,
    TimeProvider time)
{
    public async Task<ChatReply> AnswerAsync(ChatCommand.Diagnose command, CancellationToken cancellationToken)
    {
        var name = $"{command.Namespace}/{command.Pod}";
        if (command.Cluster is { } other && !(queues.FleetMode ? queues.RunsHere(other) : string.Equals(other, bot.CurrentValue.Cluster, StringComparison.Ordinal)))
        {
            // Reading a pod live takes the cluster's own credentials, which only that cluster's bot holds.
            var openThere = (await incidents.ListOpenAsync(other, command.Namespace, cancellationToken).ConfigureAwait(false))
                .Where(i => i.Pods.Any(p => string.Equals(p.Pod, command.Pod, StringComparison.Ordinal)))
                .Select(i => $"`{i.Id}`")
                .ToList();
            var known = openThere.Count > 0 ? $" Its open incident{(openThere.Count == 1 ? string.Empty : "s")} {string.Join(", ", openThere)} carr{(openThere.Count == 1 ? "ies" : "y")} the diagnosis that cluster's bot made; `status --cluster {other}` lists them." : $" `status --cluster {other}` lists that cluster's open incidents.";
            var self = queues.FleetMode && queues.Own is null ? "the fleet's chat replica, with no cluster" : $"cluster {bot.CurrentValue.Cluster}'s bot";
            return new ChatReply($"I cannot read {other}/{name} live: this is {self}, and only cluster {other}'s bot holds its credentials.{known}");
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
