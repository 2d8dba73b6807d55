using System.Globalization;
using ChatOpsPull.Core.Diagnoses;

namespace ChatOpsPull.Registry;

/// <summary>
/// How a check's evidence says an answer was given to an earlier check and reused (<see cref="RegistrySharedAnswers"/>,
/// the shared network probe): a line of its own or a note after a step's detail, worded the same everywhere so that a
/// reader comparing two checks' evidence (an unchanged prevention finding must not re-send its card) can leave it out.
/// </summary>
public static class RegistryReuseNote
{
    private const string LinePrefix = "reused: ";
    private const string SuffixPrefix = " (reused: ";

    /// <summary>A line of its own: <paramref name="what"/> was answered to an earlier check within <paramref name="window"/>.</summary>
    public static string Line(string what, TimeSpan window) => $"{LinePrefix}{what} within the last {Seconds(window)}";

    /// <summary>A note after a step's own detail.</summary>
    public static string Suffix(string what, TimeSpan window) => $"{SuffixPrefix}{what} within the last {Seconds(window)})";

    /// <summary>The evidence as a check that asked afresh would word it: reuse lines dropped, reuse notes cut off.</summary>
    public static IEnumerable<Evidence> Without(IEnumerable<Evidence> evidence) =>
        evidence
            .Where(e => !(e.Outcome == EvidenceOutcome.Info && e.Detail.StartsWith(LinePrefix, StringComparison.Ordinal)))
            .Select(e => e.Detail.IndexOf(SuffixPrefix, StringComparison.Ordinal) is var at and >= 0 ? e with { Detail = e.Detail[..at] } : e);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
