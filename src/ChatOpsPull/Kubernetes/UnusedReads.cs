namespace ChatOpsPull.Kubernetes;

/// <summary>
/// Reads started ahead (beside the pod read, for what a diagnosis will probably need) and then not used: their failures,
/// if any, are observed and dropped, so an abandoned read never surfaces as an unobserved task exception.
/// </summary>
internal static class UnusedReads
{
    public static void Drop(Task? read) =>
        _ = read?.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    public static void Drop(IEnumerable<Task> reads)
    {
        foreach (var read in reads)
        {
            Drop(read);
        }
    }
}
