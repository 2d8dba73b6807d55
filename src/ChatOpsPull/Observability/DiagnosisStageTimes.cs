using System.Diagnostics;

namespace ChatOpsPull.Observability;

/// <summary>The parts of one incident's diagnosis whose time is measured (the <c>stage</c> label of diagnosis_stage_seconds).</summary>
public enum DiagnosisStage
{
    /// <summary>From the request (incident stored) to a worker taking it.</summary>
    QueueWait,

    /// <summary>Kubernetes API reads: the pod, its owners, pull secrets, node, unattached secrets, rollout history.</summary>
    Kubernetes,

    /// <summary>Registry round trips (manifest, token) with the pod's credentials.</summary>
    Registry,

    /// <summary>Incident store reads and the transaction that stores the diagnosis.</summary>
    Database,

    /// <summary>Telling the notifiers (chat cards) that the incident is diagnosed.</summary>
    Card,

    /// <summary>Of <see cref="Database"/>: waiting for the subject lock of the incident's workload (a write of it under way).</summary>
    SubjectLock,

    /// <summary>Of <see cref="Database"/>: waiting for this process's SQLite write turn (other writers' transactions).</summary>
    WriteTurn,

    /// <summary>
    /// Of <see cref="WriteTurn"/>: from the writer before it handing the turn on to this flow running with it — a wait for
    /// a thread-pool thread, not for any writer.
    /// </summary>
    WriteTurnHandOver,
}

/// <summary>
/// Time spent per <see cref="DiagnosisStage"/> by one diagnosis. The diagnosis run makes one current for its async flow;
/// the code that does a stage's work (the diagnoser, the news dispatch) adds to it when there is one, and the run
/// records the totals as the diagnosis_stage_seconds histogram. Stages that overlap (parallel reads) count wall time.
/// </summary>
public sealed class DiagnosisStageTimes
{
    private static readonly AsyncLocal<DiagnosisStageTimes?> CurrentTimes = new();
    private readonly long[] _ticks = new long[Enum.GetValues<DiagnosisStage>().Length];

    /// <summary>The times of the diagnosis running in this async flow, or null outside a diagnosis.</summary>
    public static DiagnosisStageTimes? Current => CurrentTimes.Value;

    /// <summary>Makes <paramref name="times"/> current for this async flow (and the flows it starts).</summary>
    public static void Begin(DiagnosisStageTimes times) => CurrentTimes.Value = times;

    public TimeSpan this[DiagnosisStage stage] => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks[(int)stage]));

    public void Add(DiagnosisStage stage, TimeSpan elapsed) => Interlocked.Add(ref _ticks[(int)stage], (long)(elapsed.TotalSeconds * Stopwatch.Frequency));

    /// <summary>Adds the time from now to the end of the using block to the current diagnosis's stage (nothing outside one).</summary>
    public static Timing Measure(DiagnosisStage stage) => new(Current, stage, Stopwatch.GetTimestamp());

    public readonly struct Timing(DiagnosisStageTimes? times, DiagnosisStage stage, long started) : IDisposable
    {
        public void Dispose() => times?.Add(stage, Stopwatch.GetElapsedTime(started));
    }
}
