using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Docs;

/// <summary>
/// Keeps README.md and docs/ honest: the README stays a short front door whose first lines are the two set-up commands
/// (the second being exactly what CI runs), every relative link and anchor leads somewhere, every page says what it
/// covers and links back, and the configuration page names every setting the code binds — and none it does not.
/// </summary>
public sealed partial class DocsTests(ITestOutputHelper output)
{
    private const int ReadmeLimitBytes = 12 * 1024;

    private static readonly string Root = RepositoryRoot();

    [Fact]
    public void The_readme_stays_a_front_door_of_at_most_12_KB()
    {
        var size = new FileInfo(Path.Combine(Root, "README.md")).Length;
        output.WriteLine($"README.md: {size} bytes (limit {ReadmeLimitBytes})");
        Assert.InRange(size, 1, ReadmeLimitBytes);
    }

    [Fact]
    public void The_readme_starts_with_the_two_commands_and_ci_runs_the_same_test_command()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "README.md"));
        var afterTitle = lines.SkipWhile(l => !l.StartsWith("# ", StringComparison.Ordinal)).Skip(1).SkipWhile(string.IsNullOrWhiteSpace).ToList();
        Assert.True(afterTitle.Count > 0 && afterTitle[0].StartsWith("```", StringComparison.Ordinal), "the first thing after the README's title must be the code block with the two commands");

        var block = afterTitle.Skip(1).TakeWhile(l => !l.StartsWith("```", StringComparison.Ordinal)).Where(l => l.Trim().Length > 0).Select(CommandOf).ToList();
        Assert.Equal(2, block.Count);

        var run = RunBotRegex().Match(block[0]);
        Assert.True(run.Success, $"the first command must run the bot with dotnet run --project <dir>, not \"{block[0]}\"");
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Root, run.Groups["project"].Value), "*.csproj"));

        var ci = File.ReadAllLines(Path.Combine(Root, ".ci", "run"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Last();
        Assert.Equal(ci, block[1]);
        Assert.Contains("dotnet test ChatOpsPull.sln", block[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Every_relative_link_in_the_readme_and_docs_points_to_an_existing_file_and_heading()
    {
        var broken = new List<string>();
        var checkedLinks = 0;
        foreach (var page in Pages())
        {
            foreach (var target in LinksOf(File.ReadAllText(page)))
            {
                if (target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal)
                    || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                checkedLinks++;
                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var path = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var file = path.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(path)));
                var where = $"{Path.GetRelativePath(Root, page)}: ({target})";
                if (!file.StartsWith(Root, StringComparison.Ordinal) || (!File.Exists(file) && !Directory.Exists(file)))
                {
                    broken.Add($"{where} leads to no file");
                }
                else if (anchor is not null && (!file.EndsWith(".md", StringComparison.Ordinal) || !AnchorsOf(File.ReadAllText(file)).Contains(anchor)))
                {
                    broken.Add($"{where} leads to no heading #{anchor}");
                }
            }
        }

        output.WriteLine($"{checkedLinks} relative links checked");
        broken.ForEach(output.WriteLine);
        Assert.True(checkedLinks > 20, "the link check found almost no links: is the parser still reading the pages?");
        Assert.Empty(broken);
    }

    [Fact]
    public void Every_docs_page_says_what_it_covers_links_back_to_the_readme_and_is_linked_from_it()
    {
        var readmeLinks = LinksOf(File.ReadAllText(Path.Combine(Root, "README.md"))).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        var pages = Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Order(StringComparer.Ordinal).ToList();
        foreach (var page in pages)
        {
            var name = Path.GetFileName(page);
            var lines = File.ReadAllLines(page);
            var opening = string.Join(' ', lines.SkipWhile(l => !l.StartsWith("# ", StringComparison.Ordinal)).Skip(1).SkipWhile(string.IsNullOrWhiteSpace).TakeWhile(l => l.Trim().Length > 0));
            if (!lines.FirstOrDefault("").StartsWith("# ", StringComparison.Ordinal))
            {
                problems.Add($"{name} does not start with a title");
            }

            if (opening.Length == 0 || opening.StartsWith('|') || opening.StartsWith("```", StringComparison.Ordinal))
            {
                problems.Add($"{name} does not open with a sentence saying what it covers");
            }

            if (!opening.Contains("](../README.md)", StringComparison.Ordinal))
            {
                problems.Add($"{name}'s opening does not link back to the README");
            }

            if (!readmeLinks.Contains("docs/" + name))
            {
                problems.Add($"the README does not link to docs/{name}");
            }
        }

        problems.ForEach(output.WriteLine);
        Assert.True(pages.Count >= 10, $"docs/ has {pages.Count} pages");
        Assert.Empty(problems);
    }

    [Fact]
    public void The_configuration_page_documents_every_setting_the_code_binds_and_no_other()
    {
        var bound = BoundSettings();
        var roots = bound.Select(k => k.Split(':')[0]).ToHashSet(StringComparer.Ordinal);
        var documented = DocumentedSettings(File.ReadAllText(Path.Combine(Root, "docs", "configuration.md")))
            .Where(k => roots.Contains(k.Split(':')[0]))
            .ToHashSet(StringComparer.Ordinal);

        var missing = bound.Except(documented).Order(StringComparer.Ordinal).ToList();
        var unknown = documented.Except(bound).Order(StringComparer.Ordinal).ToList();
        missing.ForEach(k => output.WriteLine($"not in docs/configuration.md: {k}"));
        unknown.ForEach(k => output.WriteLine($"in docs/configuration.md but bound to nothing: {k}"));
        Assert.True(bound.Count > 100, $"only {bound.Count} settings found in the options classes");
        Assert.Empty(missing);
        Assert.Empty(unknown);
    }

    /// <summary>"a  # comment" → "a".</summary>
    private static string CommandOf(string line)
    {
        var comment = line.IndexOf(" #", StringComparison.Ordinal);
        return (comment < 0 ? line : line[..comment]).Trim();
    }

    private static IEnumerable<string> Pages() =>
        new[] { Path.Combine(Root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Order(StringComparer.Ordinal));

    /// <summary>Link targets of a Markdown page, outside fenced code blocks and code spans.</summary>
    private static IEnumerable<string> LinksOf(string markdown)
    {
        foreach (var line in Prose(markdown))
        {
            foreach (Match link in LinkRegex().Matches(CodeSpanRegex().Replace(line, string.Empty)))
            {
                yield return link.Groups["target"].Value;
            }
        }
    }

    /// <summary>The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    private static HashSet<string> AnchorsOf(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in Prose(markdown))
        {
            var heading = HeadingRegex().Match(line);
            if (!heading.Success)
            {
                continue;
            }

            var slug = new StringBuilder();
            foreach (var c in heading.Groups["text"].Value.Trim().ToLowerInvariant())
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_')
                {
                    slug.Append(c);
                }
                else if (c == ' ')
                {
                    slug.Append('-');
                }
            }

            var text = slug.ToString();
            var count = seen.GetValueOrDefault(text);
            seen[text] = count + 1;
            anchors.Add(count == 0 ? text : string.Create(CultureInfo.InvariantCulture, $"{text}-{count}"));
        }

        return anchors;
    }

    /// <summary>The lines of a Markdown page that are not inside fenced code blocks.</summary>
    private static IEnumerable<string> Prose(string markdown)
    {
        var fenced = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (!fenced)
            {
                yield return line;
            }
        }
    }

    /// <summary>
    /// The keys the configuration tables name. A row's first cell holds one full key (<c>Outbox:BaseBackoff</c>), or a
    /// full key followed by sibling names (<c>`Outbox:BaseBackoff`, `MaxBackoff`</c>); a trailing list position
    /// (<c>:M</c>) names the list itself.
    /// </summary>
    private static List<string> DocumentedSettings(string markdown)
    {
        var keys = new List<string>();
        foreach (var line in Prose(markdown).Where(l => l.StartsWith('|')))
        {
            var cells = line.Split('|');
            if (cells.Length < 3)
            {
                continue;
            }

            string? parent = null;
            foreach (Match code in CodeRegex().Matches(cells[1]))
            {
                var name = code.Groups["code"].Value;
                string key;
                if (name.Contains(':', StringComparison.Ordinal))
                {
                    key = name;
                    parent = name[..name.LastIndexOf(':')];
                }
                else if (parent is not null)
                {
                    key = parent + ":" + name;
                }
                else
                {
                    key = name;
                }

                keys.Add(ListPositionRegex().Replace(key, string.Empty));
            }
        }

        return keys;
    }

    /// <summary>Every setting the options classes bind: each class with a <c>Section</c> constant, walked through nested objects and lists.</summary>
    private static HashSet<string> BoundSettings()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in typeof(Program).Assembly.GetTypes())
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field
                && field.GetRawConstantValue() is string section)
            {
                keys.UnionWith(SettingsOf(section, type));
            }
        }

        return keys;
    }

    private static IEnumerable<string> SettingsOf(string prefix, Type type)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
        {
            var key = prefix + ":" + property.Name;
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var element = ElementOf(propertyType);
            if (IsValue(propertyType) || (element is not null && IsValue(element)))
            {
                yield return key;
            }
            else
            {
                foreach (var nested in SettingsOf(element is null ? key : key + ":N", element ?? propertyType))
                {
                    yield return nested;
                }
            }
        }
    }

    private static bool IsValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTimeOffset) || type == typeof(Uri);

    private static Type? ElementOf(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type != typeof(string) && type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            ? type.GetGenericArguments()[0]
            : null;

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ChatOpsPull.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("ChatOpsPull.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^dotnet run --project (?<project>\S+)$")]
    private static partial Regex RunBotRegex();

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex LinkRegex();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex CodeSpanRegex();

    [GeneratedRegex(@"`(?<code>[^`]+)`")]
    private static partial Regex CodeRegex();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*\s*$")]
    private static partial Regex HeadingRegex();

    [GeneratedRegex(@":[MN]$")]
    private static partial Regex ListPositionRegex();
}
