using System.Linq.Expressions;
using ChatOpsPull.Fleet;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;

namespace ChatOpsPull.Jobs;

/// <summary>
/// Enqueues work on the queue of the cluster it belongs to (<see cref="ClusterQueues"/>): in a fleet only that cluster's
/// bots take it, so a diagnosis or a fix for cluster X runs on X, and waits in the database while X has no live bot.
/// Outside fleet mode it is a plain enqueue on the shared queue. <see cref="QueueKeepingFilter"/> keeps the job on its
/// queue through retries.
/// </summary>
public sealed class ClusterJobs(IBackgroundJobClient client, ClusterQueues queues)
{
    public bool FleetMode => queues.FleetMode;

    /// <summary>True when this bot may act on <paramref name="cluster"/> (<see cref="ClusterQueues.RunsHere"/>).</summary>
    public bool RunsHere(string cluster) => queues.RunsHere(cluster);

    /// <summary>Enqueues <paramref name="call"/> for <paramref name="cluster"/>; returns the Hangfire job id.</summary>
    public string Enqueue<T>(string? cluster, Expression<Func<T, Task>> call)
    {
        return queues.FleetMode && !string.IsNullOrEmpty(cluster)
            ? client.Create(Job.FromExpression(call), new EnqueuedState(queues.For(cluster)))
            : client.Enqueue(call);
    }

    /// <summary>Enqueues cluster-neutral work on the shared queue (any bot that takes it may run it).</summary>
    public string EnqueueShared<T>(Expression<Func<T, Task>> call) => client.Enqueue(call);
}
