using System.Globalization;
using System.Text;

namespace ChatOpsPull.Chat.Slack.BlockKit;

/// <summary>Slack text rules: mrkdwn escaping and honest cutting at length limits.</summary>
public static class SlackText
{
    /// <summary>Escapes the three characters Slack requires escaped in message text: &amp;, &lt;, &gt;.</summary>
    public static string Escape(string text)
    {
        if (text.AsSpan().IndexOfAny('&', '<', '>') < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            builder.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                _ => c.ToString(),
            });
        }

        return builder.ToString();
    }

    /// <summary>
    /// The card's markdown-ish text (*bold*, `code`) as Slack mrkdwn: both use the same markers, so only escaping is
    /// needed; a Markdown-style **bold** becomes *bold*.
    /// </summary>
    public static string Mrkdwn(string text) => Escape(text.Replace("**", "*", StringComparison.Ordinal));

    /// <summary>
    /// The longest prefix of <paramref name="text"/> no longer than <paramref name="max"/> that does not split a
    /// surrogate pair or an escape entity (&amp;amp; &amp;lt; &amp;gt;).
    /// </summary>
    public static string Prefix(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }

        var end = Math.Max(max, 0);
        if (end > 0 && char.IsHighSurrogate(text[end - 1]))
        {
            end--;
        }

        var amp = text.LastIndexOf('&', Math.Max(end - 1, 0), Math.Min(end, 5));
        if (amp >= 0 && text.IndexOf(';', amp, end - amp) < 0 && IsEntityAt(text, amp))
        {
            end = amp;
        }

        return text[..end];
    }

    /// <summary>Cuts to <paramref name="max"/> characters, ending with "…" when something was cut.</summary>
    public static string Cut(string text, int max) =>
        text.Length <= max ? text : Prefix(text, max - 1) + "…";

    /// <summary>1,234 — numbers in notes as people read them.</summary>
    public static string Count(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static bool IsEntityAt(string text, int index) =>
        text.AsSpan(index).StartsWith("&amp;") || text.AsSpan(index).StartsWith("&lt;") || text.AsSpan(index).StartsWith("&gt;");
}
