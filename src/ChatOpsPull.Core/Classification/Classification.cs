using System.Globalization;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Classification;

/// <summary>
/// What the message alone says. Live evidence (registry, secrets, network) raises or overrides it.
/// <see cref="Summary"/> is written only when it is first read: most callers (grouping, incident keys) need the cause
/// alone, and reading a message must stay cheap (see docs/benchmarks.md).
/// </summary>
public sealed class Classification
{
    private readonly string? _message;
    private readonly string? _reason;
    private readonly Finding _finding;
    private string? _summary;

    public Classification(PullCause cause, double confidence, string summary)
    {
        Cause = cause;
        Confidence = confidence;
        _summary = summary;
    }

    internal Classification(Finding finding, string? message, string? reason)
    {
        (Cause, Confidence) = MessageClassifier.CauseOf(finding, message is null or "");
        _finding = finding;
        _message = message;
        _reason = reason;
    }

    public PullCause Cause { get; }

    /// <summary>Between 0.05 and 0.9: a message is never proof.</summary>
    public double Confidence { get; }

    /// <summary>One line a tired person can act on (at most 400 characters).</summary>
    public string Summary => _summary ??= MessageClassifier.Explain(_finding, _message, _reason);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Cause.ToSnakeCase()} ({Confidence:0.##}): {Summary}");
}
