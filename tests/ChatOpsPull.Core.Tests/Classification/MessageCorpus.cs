using System.Globalization;
using System.Text;
using System.Text.Json;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Tests.Classification;

/// <summary>
/// One message of tests/fixtures/messages/corpus/{a,b,c,d,e,f,g,h}.jsonl: real text copied from a public source, labelled
/// (not from the classifier) with the most specific cause the text supports (<see cref="Expected"/>), the cause its source
/// thread found (<see cref="Found"/>: the line's <c>found</c> field, else <see cref="Expected"/>), and the part of the
/// fixed split its source belongs to. See corpus/README.md, "Labels: what the message text supports".
/// </summary>
public sealed record CorpusMessage(string File, int Line, string Message, string? Reason, PullCause Expected, PullCause Found, string Source, bool Evaluation);

/// <summary>
/// The corpus and its split (corpus/split.tsv, fixed and committed before any rule was tuned on it). The evaluation part
/// is measured, never read to change a rule: tests print only aggregate figures for it, never its messages.
/// </summary>
public static class MessageCorpus
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures", "messages", "corpus");

    private static readonly Lazy<IReadOnlyList<CorpusMessage>> Loaded = new(Load);

    public static IReadOnlyList<CorpusMessage> All => Loaded.Value;

    public static IReadOnlyList<CorpusMessage> Tuning => [.. All.Where(m => !m.Evaluation)];

    public static IReadOnlyList<CorpusMessage> Evaluation => [.. All.Where(m => m.Evaluation)];

    /// <summary>Source URL → true when it is in the evaluation part.</summary>
    public static IReadOnlyDictionary<string, bool> Split { get; } = LoadSplit();

    private static Dictionary<string, bool> LoadSplit()
    {
        var split = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(Directory, "split.tsv")))
        {
            if (line.StartsWith('#') || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var parts = line.Split('\t');
            split.Add(parts[1], parts[0] switch
            {
                "evaluation" => true,
                "tuning" => false,
                _ => throw new InvalidDataException($"split.tsv: part \"{parts[0]}\" is neither tuning nor evaluation"),
            });
        }

        return split;
    }

    private static List<CorpusMessage> Load()
    {
        var messages = new List<CorpusMessage>();
        foreach (var file in new[] { "a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl", "e.jsonl", "f.jsonl", "g.jsonl", "h.jsonl" })
        {
            var number = 0;
            foreach (var line in File.ReadLines(Path.Combine(Directory, file)))
            {
                number++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                var expected = root.GetProperty("expected").GetString();
                if (!PullCauseNames.TryParse(expected, out var cause))
                {
                    throw new InvalidDataException($"{file}:{number}: expected \"{expected}\" is not a pull cause");
                }

                var found = cause;
                if (root.TryGetProperty("found", out var foundProperty))
                {
                    if (!PullCauseNames.TryParse(foundProperty.GetString(), out found))
                    {
                        throw new InvalidDataException($"{file}:{number}: found \"{foundProperty.GetString()}\" is not a pull cause");
                    }

                    if (found == cause)
                    {
                        throw new InvalidDataException($"{file}:{number}: found is written only where the thread's finding differs from expected");
                    }
                }

                var source = root.GetProperty("source").GetString() ?? string.Empty;
                messages.Add(new CorpusMessage(
                    file,
                    number,
                    root.GetProperty("message").GetString() ?? string.Empty,
                    root.GetProperty("reason").ValueKind == JsonValueKind.String ? root.GetProperty("reason").GetString() : null,
                    cause,
                    found,
                    source,
                    Split.TryGetValue(source, out var evaluation) ? evaluation : throw new InvalidDataException($"{file}:{number}: source {source} is not in split.tsv")));
            }
        }

        return messages;
    }
}

/// <summary>Per-cause precision and recall of a set of (expected, got) pairs, as a table.</summary>
public sealed class CauseScores
{
    private readonly List<(PullCause Expected, PullCause Got)> _pairs = [];

    public void Add(PullCause expected, PullCause got) => _pairs.Add((expected, got));

    public int Count => _pairs.Count;

    public int Right => _pairs.Count(p => p.Expected == p.Got);

    public double Accuracy => Count == 0 ? 0 : Right / (double)Count;

    public int Support(PullCause cause) => _pairs.Count(p => p.Expected == cause);

    /// <summary>Right / expected for the cause; null without any message expected to have it.</summary>
    public double? Recall(PullCause cause) => Support(cause) is var n and > 0 ? _pairs.Count(p => p.Expected == cause && p.Got == cause) / (double)n : null;

    /// <summary>Right / predicted for the cause; null when it was never predicted.</summary>
    public double? Precision(PullCause cause) =>
        _pairs.Count(p => p.Got == cause) is var n and > 0 ? _pairs.Count(p => p.Expected == cause && p.Got == cause) / (double)n : null;

    public string Table(string title)
    {
        var text = new StringBuilder();
        text.AppendLine(title);
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"cause",-18} {"expected",8} {"predicted",9} {"precision",9} {"recall",7}");
        foreach (var cause in PullCauseNames.All)
        {
            var predicted = _pairs.Count(p => p.Got == cause);
            if (Support(cause) == 0 && predicted == 0)
            {
                continue;
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"  {cause.ToSnakeCase(),-18} {Support(cause),8} {predicted,9} {Percent(Precision(cause)),9} {Percent(Recall(cause)),7}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  {"accuracy",-18} {Right,8} of {Count} = {Accuracy.ToString("P1", CultureInfo.InvariantCulture)}");
        return text.ToString();
    }

    private static string Percent(double? value) => value is { } v ? v.ToString("P0", CultureInfo.InvariantCulture) : "-";
}
