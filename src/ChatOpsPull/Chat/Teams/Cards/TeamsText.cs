using System.Text;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Chat.Teams.Cards;

/// <summary>
/// The card model's light markup (<c>*bold*</c>, <c>**bold**</c>, <c>`code`</c>) in what Teams actually shows. Adaptive
/// Card text in Teams understands only bold, italic, lists and links ("Format cards in Teams"): a code span would show
/// its backticks. So marked-up text becomes a RichTextBlock whose TextRuns carry the styling (bold runs, monospace runs
/// for code) and are never read as markdown; single-line texts Teams does read as markdown (titles, facts, footers)
/// are made inert: code spans lose their backticks, and nothing in them is taken as markup.
/// </summary>
public static class TeamsText
{
    /// <summary>One styled piece of a text.</summary>
    public enum Style
    {
        Plain,
        Bold,
        Code,
    }

    /// <summary>The text cut into plain, bold and code pieces; markers that open nothing stay as written.</summary>
    public static IReadOnlyList<(Style Style, string Text)> Runs(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var runs = new List<(Style, string)>();
        var plain = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '`' && Close(text, i + 1, "`") is { } codeEnd)
            {
                Flush();
                runs.Add((Style.Code, text[(i + 1)..codeEnd]));
                i = codeEnd + 1;
                continue;
            }

            if (text[i] == '*')
            {
                var marker = i + 1 < text.Length && text[i + 1] == '*' ? "**" : "*";
                var start = i + marker.Length;
                if (OpensAt(text, i, marker) && Close(text, start, marker) is { } boldEnd && ClosesAt(text, boldEnd, marker))
                {
                    Flush();
                    runs.Add((Style.Bold, text[start..boldEnd]));
                    i = boldEnd + marker.Length;
                    continue;
                }
            }

            plain.Append(text[i]);
            i++;
        }

        Flush();
        return runs;

        void Flush()
        {
            if (plain.Length > 0)
            {
                runs.Add((Style.Plain, plain.ToString()));
                plain.Clear();
            }
        }
    }

    /// <summary>A RichTextBlock of the text's runs, after an optional plain prefix (a line's mark).</summary>
    public static JsonObject RichText(string text, string prefix = "", string? color = null)
    {
        var inlines = new JsonArray();
        if (prefix.Length > 0)
        {
            inlines.Add(Run(prefix, color));
        }

        foreach (var (style, part) in Runs(text))
        {
            var run = Run(part, color);
            switch (style)
            {
                case Style.Bold:
                    run["weight"] = "Bolder";
                    break;
                case Style.Code:
                    run["fontType"] = "Monospace";
                    break;
                case Style.Plain:
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(text), style, "unknown style");
            }

            inlines.Add(run);
        }

        return new JsonObject { ["type"] = "RichTextBlock", ["inlines"] = inlines };
    }

    /// <summary>Preformatted text (runtime messages): one monospace run, shown exactly as written.</summary>
    public static JsonObject Monospace(string text) => new()
    {
        ["type"] = "RichTextBlock",
        ["inlines"] = new JsonArray { new JsonObject { ["type"] = "TextRun", ["text"] = text, ["fontType"] = "Monospace", ["size"] = "Small" } },
    };

    /// <summary>
    /// Text for a field Teams reads as markdown (TextBlock, Fact): bold stays bold (<c>**…**</c>), code spans keep their
    /// words without the backticks, and characters that would start markup Teams does not have (a stray backtick, a
    /// heading or quote at the start of a line) or markup the model did not mean (<c>_</c>, <c>[</c>) are written so
    /// they show as themselves.
    /// </summary>
    public static string Inert(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length + 8);
        foreach (var (style, part) in Runs(text))
        {
            var escaped = Escape(part);
            builder.Append(style == Style.Bold && escaped.Trim().Length > 0 ? $"**{escaped}**" : escaped);
        }

        return builder.ToString();
    }

    private static JsonObject Run(string text, string? color)
    {
        var run = new JsonObject { ["type"] = "TextRun", ["text"] = text };
        if (color is not null)
        {
            run["color"] = color;
        }

        return run;
    }

    /// <summary>
    /// Makes a piece inert: a backtick becomes a prime (′), an asterisk the asterisk operator (∗), an underscore that
    /// could open or close italics and a '[' keep their look through the full-width forms Teams has no markup for; a
    /// line that would start a heading, quote or list gets a zero-width space in front.
    /// </summary>
    private static string Escape(string part)
    {
        var builder = new StringBuilder(part.Length);
        for (var i = 0; i < part.Length; i++)
        {
            var c = part[i];
            var lineStart = i == 0 || part[i - 1] == '\n';
            if (lineStart && (c is '#' or '>' or '|' || (c is '-' or '+' && i + 1 < part.Length && part[i + 1] == ' ') || OrderedListAt(part, i)))
            {
                builder.Append('\u200B');
            }

            builder.Append(c switch
            {
                '`' => '\u2032',
                '*' => '\u2217',
                '_' when IsEmphasisUnderscore(part, i) => '\uFF3F',
                '[' => '\uFF3B',
                ']' => '\uFF3D',
                '~' when i + 1 < part.Length && part[i + 1] == '~' => '\u223C',
                _ => c,
            });
        }

        return builder.ToString();
    }

    /// <summary>An underscore not between two letters or digits could open or close italics.</summary>
    private static bool IsEmphasisUnderscore(string text, int i) =>
        !(i > 0 && char.IsLetterOrDigit(text[i - 1]) && i + 1 < text.Length && char.IsLetterOrDigit(text[i + 1]));

    private static bool OrderedListAt(string text, int i)
    {
        var j = i;
        while (j < text.Length && char.IsAsciiDigit(text[j]))
        {
            j++;
        }

        return j > i && j + 1 < text.Length && text[j] == '.' && text[j + 1] == ' ';
    }

    private static int? Close(string text, int from, string marker)
    {
        var end = text.IndexOf(marker, from, StringComparison.Ordinal);
        var newline = text.IndexOf('\n', from);
        return end > from && (newline < 0 || end < newline) ? end : null;
    }

    /// <summary>A bold marker opens where it does not follow a word character and is followed by a non-space.</summary>
    private static bool OpensAt(string text, int i, string marker) =>
        (i == 0 || !char.IsLetterOrDigit(text[i - 1]) && text[i - 1] != '*')
        && i + marker.Length < text.Length && !char.IsWhiteSpace(text[i + marker.Length]) && text[i + marker.Length] != '*';

    private static bool ClosesAt(string text, int end, string marker) =>
        !char.IsWhiteSpace(text[end - 1])
        && (end + marker.Length >= text.Length || !char.IsLetterOrDigit(text[end + marker.Length]) && text[end + marker.Length] != '*');
}
