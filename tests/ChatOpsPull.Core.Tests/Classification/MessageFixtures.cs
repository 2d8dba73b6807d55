using System.Text.Json;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Tests.Classification;

/// <summary>One line of tests/fixtures/messages/messages.jsonl: a real message and the cause it shows.</summary>
public sealed record MessageFixture(
    int Line,
    string Message,
    string? Reason,
    PullCause Expected,
    string Runtime,
    string Registry,
    string Source,
    string? Note);

public static class MessageFixtures
{
    public static string FilePath { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures", "messages", "messages.jsonl");

    private static readonly Lazy<IReadOnlyList<MessageFixture>> Loaded = new(Load);

    public static IReadOnlyList<MessageFixture> All => Loaded.Value;

    private static List<MessageFixture> Load()
    {
        var fixtures = new List<MessageFixture>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(FilePath))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var expectedName = root.GetProperty("expected").GetString();
            if (!PullCauseNames.TryParse(expectedName, out var expected))
            {
                throw new InvalidDataException($"{FilePath}:{lineNumber}: expected \"{expectedName}\" is not a pull cause");
            }

            fixtures.Add(new MessageFixture(
                lineNumber,
                root.GetProperty("message").GetString() ?? throw new InvalidDataException($"{FilePath}:{lineNumber}: message is null"),
                root.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String ? reason.GetString() : null,
                expected,
                root.GetProperty("runtime").GetString() ?? string.Empty,
                root.GetProperty("registry").GetString() ?? string.Empty,
                root.GetProperty("source").GetString() ?? string.Empty,
                root.TryGetProperty("note", out var note) ? note.GetString() : null));
        }

        return fixtures;
    }
}
