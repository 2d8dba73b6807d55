using System.Text.RegularExpressions;
using ChatOpsPull.Tests.Manifests;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Architecture;

/// <summary>
/// The bot's SQL names the columns it reads: a statement prepared on a pooled PostgreSQL connection keeps its result type
/// when another replica's migration adds a column, while a prepared <c>SELECT *</c> (or <c>x.*</c>, <c>RETURNING *</c>)
/// fails once with 0A000 — an HTTP 500, a failed command or job run in the middle of a rolling upgrade
/// (<c>ReadsAcrossReplicaMigrationTests</c>). Read from the service's sources, comments left out.
/// </summary>
public sealed partial class SqlColumnsTests(ITestOutputHelper output)
{
    [Fact]
    public void No_statement_of_the_bot_reads_every_column_with_a_star()
    {
        var source = RenderedManifests.Path(Path.Combine("src", "ChatOpsPull"));
        var stars = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                           && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(file => File.ReadLines(file).Select((line, i) => (File: Path.GetRelativePath(source, file), Line: i + 1, Text: line)))
            .Where(line => ReadsEveryColumn(line.Text))
            .Select(line => $"{line.File}:{line.Line}: {line.Text.Trim()}")
            .ToList();
        stars.ForEach(output.WriteLine);
        Assert.Empty(stars);
    }

    [Theory]
    [InlineData("\"SELECT * FROM incidents WHERE id = @id\"", true)]
    [InlineData("$\"SELECT p.* FROM incident_pods p WHERE {where}\"", true)]
    [InlineData("    SELECT DISTINCT * FROM audit_log", true)]
    [InlineData("        RETURNING *),", true)]
    [InlineData("\"SELECT i.id, p.* FROM incidents i JOIN incident_pods p ON p.incident_id = i.id\"", true)]
    [InlineData("\"SELECT COUNT(*) FROM incidents\"", false)]
    [InlineData("\"SELECT id, cluster FROM incidents\"", false)]
    [InlineData("    /// a prepared <c>SELECT *</c> fails once", false)]
    [InlineData("    // SELECT * would fail here", false)]
    public void A_star_in_a_statement_is_found_and_a_count_or_a_comment_is_not(string line, bool found) =>
        Assert.Equal(found, ReadsEveryColumn(line));

    private static bool ReadsEveryColumn(string line) =>
        !line.TrimStart().StartsWith("//", StringComparison.Ordinal) && Star().IsMatch(line);

    /// <summary><c>SELECT *</c>, <c>SELECT DISTINCT *</c>, <c>RETURNING *</c>, or <c>alias.*</c> in a select list.</summary>
    [GeneratedRegex(@"\b(SELECT|RETURNING)\s+(DISTINCT\s+)?\*|(\bSELECT\s+|,\s*)\w+\.\*")]
    private static partial Regex Star();
}
