using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Diagnoses;

/// <summary>Result of one check.</summary>
public enum EvidenceOutcome
{
    /// <summary>The check found nothing wrong.</summary>
    Passed,

    /// <summary>The check found the problem (or a problem).</summary>
    Failed,

    /// <summary>A fact worth showing, neither good nor bad.</summary>
    Info,

    /// <summary>The check could not run (no access, not applicable); the detail says why.</summary>
    Skipped,
}

/// <summary>One thing the bot checked, what it returned and how long it took.</summary>
/// <param name="Check">What was checked, in a few words ("registry manifest", "DNS registry.example.com").</param>
/// <param name="Detail">What it returned, one line, never a secret.</param>
public sealed record Evidence(string Check, EvidenceOutcome Outcome, string Detail, TimeSpan? Duration = null);

/// <summary>A fix the diagnosis did not offer, and why not ("deployment/api is paused, and kubectl rollout restart refuses…").</summary>
public sealed record WithheldFix(RemediationKind Kind, string Title, string Reason);

/// <summary>
/// Why a pull failed, backed by evidence, with the fixes that fit, best first.
/// </summary>
/// <param name="Confidence">0..1: how sure the bot is. Message-only classification stays below live evidence.</param>
/// <param name="Summary">One line a tired person can act on.</param>
public sealed record Diagnosis(
    PullCause Cause,
    double Confidence,
    string Summary,
    IReadOnlyList<Evidence> Evidence,
    string RawMessage,
    IReadOnlyList<RemediationPlan> Remediations)
{
    public DateTimeOffset DiagnosedAt { get; init; }

    /// <summary>Fixes the cause would call for that the workload's shape rules out, each with why (the card lists them).</summary>
    public IReadOnlyList<WithheldFix> Withheld { get; init; } = [];

    /// <summary>The tool that owns the workload (Argo CD, Flux, Helm, an operator), or null.</summary>
    public WorkloadOwner? Owner { get; init; }

    /// <summary>Confidence as a word for cards.</summary>
    public string ConfidenceLabel => Confidence switch
    {
        >= 0.85 => "high",
        >= 0.6 => "medium",
        _ => "low",
    };
}
