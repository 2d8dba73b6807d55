using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Diagnosing;

/// <summary>Section "Diagnosis": the in-process diagnosis queue and its durable backstop.</summary>
public sealed class DiagnosisOptions
{
    public const string Section = "Diagnosis";

    /// <summary>
    /// Diagnoses run at once in process. Each is mostly waiting (a few cluster reads, one registry round trip), so a storm's
    /// first incidents are diagnosed side by side rather than one after another.
    /// </summary>
    [Range(1, 64, ErrorMessage = "Diagnosis:Workers must be between 1 and 64.")]
    public int Workers { get; set; } = 16;

    /// <summary>Requests waiting in process; a request that finds the queue full goes to the job queue at once.</summary>
    [Range(1, 100_000, ErrorMessage = "Diagnosis:QueueCapacity must be between 1 and 100000.")]
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>
    /// How long a diagnosis request may stay not applied, counted from the incident's last change, before the sweep
    /// (<see cref="DiagnosisSweepJob"/>, every minute on one host) takes it up: late enough that the in-process diagnosis
    /// has stored its result, soon enough after a crash. A request the sweep took is its taker's for as long again.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Diagnosis:BackstopDelay must be between 0 and 1 hour (e.g. \"00:02:00\").")]
    public TimeSpan BackstopDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Run the diagnosis's read path once at start (<see cref="DiagnosisWarmUp"/>: read-only, one pod), and the intake's
    /// write path once in a transaction that is rolled back, so that the first storm's reports and diagnoses do not each
    /// wait for the same code to be compiled.
    /// </summary>
    public bool WarmUp { get; set; } = true;
}
