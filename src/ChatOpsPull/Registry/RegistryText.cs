using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Registry;

/// <summary>
/// What the bot copies from a registry's answer into evidence, cards, logs and the CLI: one bounded, printable line.
/// Control characters and line breaks become single spaces; invisible formatting characters (bidi overrides and
/// isolates, zero-width characters, byte order marks) are dropped, so a message cannot reorder or hide the text around
/// it; a URL loses its user information and its query (where credentials and signed tokens travel); and the line is cut
/// at <see cref="MaxMessage"/> characters. Error codes keep only the characters codes are made of.
/// </summary>
public static partial class RegistryText
{
    /// <summary>The longest message copied from a registry.</summary>
    public const int MaxMessage = 200;

    /// <summary>The longest error code copied (the spec's codes are short upper-case words: MANIFEST_UNKNOWN).</summary>
    public const int MaxCode = 64;

    /// <summary>A printable line of at most <paramref name="max"/> characters (plus "…" when cut).</summary>
    public static string Line(string? text, int max = MaxMessage)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var sb = new StringBuilder(Math.Min(text.Length, 4 * max));
        var pendingSpace = false;
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (rune == Rune.ReplacementChar || category is UnicodeCategory.Format or UnicodeCategory.Surrogate)
            {
                continue;
            }

            if (Rune.IsControl(rune) || Rune.IsWhiteSpace(rune) || category is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                pendingSpace = sb.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                sb.Append(' ');
                pendingSpace = false;
            }

            sb.Append(rune.ToString());
            if (sb.Length > 4 * max)
            {
                break; // URLs are redacted below, which only shortens; what is past this is cut anyway
            }
        }

        return Cut(Url().Replace(sb.ToString(), m => Redact(m.Value)), max);
    }

    /// <summary>An error code with only letters, digits, '_', '.' and '-', at most <see cref="MaxCode"/> characters.</summary>
    public static string Code(string? code)
    {
        if (string.IsNullOrEmpty(code))
        {
            return string.Empty;
        }

        var kept = new string(code.Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-').ToArray());
        return kept.Length <= MaxCode ? kept : kept[..MaxCode];
    }

    /// <summary>"https://user:pw@host/p?token=x#f" → "https://[credentials removed]@host/p?[query removed]".</summary>
    private static string Redact(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var rest = url[schemeEnd..];
        var fragment = rest.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            rest = rest[..fragment];
        }

        var query = rest.IndexOf('?', StringComparison.Ordinal);
        var hasQuery = query >= 0;
        if (hasQuery)
        {
            rest = rest[..query];
        }

        var authorityEnd = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = authorityEnd < 0 ? rest : rest[..authorityEnd];
        var path = authorityEnd < 0 ? string.Empty : rest[authorityEnd..];
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            authority = "[credentials removed]@" + authority[(at + 1)..];
        }

        return url[..schemeEnd] + authority + path + (hasQuery ? "?[query removed]" : string.Empty);
    }

    private static string Cut(string line, int max)
    {
        if (line.Length <= max)
        {
            return line;
        }

        var end = char.IsHighSurrogate(line[max - 1]) ? max - 1 : max;
        return line[..end].TrimEnd() + "…";
    }

    [GeneratedRegex(@"\b[A-Za-z][A-Za-z0-9+.\-]{0,15}://[^\s""'<>]+", RegexOptions.CultureInvariant)]
    private static partial Regex Url();
}
