using Hangfire.Client;
using Hangfire.States;

namespace ChatOpsPull.Jobs;

/// <summary>
/// Keeps a job on the queue it was first enqueued on. Hangfire puts a job that is retried, or scheduled and then due, on
/// the default queue unless told otherwise; a cluster's diagnosis retried on the shared queue could be taken by another
/// cluster's bot. The queue is remembered as a job parameter when the job is created and given back every time the job
/// is enqueued again (the documented election-filter way, as Hangfire's own QueueAttribute does).
/// </summary>
public sealed class QueueKeepingFilter : IClientFilter, IElectStateFilter
{
    public const string Parameter = "ChatOpsPull.Queue";

    public void OnCreating(CreatingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InitialState is EnqueuedState { Queue: { } queue } && queue != EnqueuedState.DefaultQueue)
        {
            context.SetJobParameter(Parameter, queue);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnStateElection(ElectStateContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.CandidateState is EnqueuedState enqueued && context.GetJobParameter<string>(Parameter, allowStale: true) is { Length: > 0 } queue)
        {
            enqueued.Queue = queue;
        }
    }
}
