using System.Globalization;
using System.Text.Json;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>Turns System.Text.Json's exceptions into a path and a sentence for the sender, without .NET type names.</summary>
public static class JsonProblems
{
    public static PayloadError Describe(JsonException exception)
    {
        var path = string.IsNullOrEmpty(exception.Path) ? "$" : exception.Path;
        var where = exception.LineNumber is { } line && exception.BytePositionInLine is { } position
            ? string.Create(CultureInfo.InvariantCulture, $" (line {line + 1}, byte {position + 1})")
            : string.Empty;
        var text = exception.Message;
        if (text.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            var name = Between(text, '\'');
            return new PayloadError(path, $"unknown field '{name}'{where}; see the documented shape");
        }

        if (text.Contains("could not be converted", StringComparison.Ordinal))
        {
            return new PayloadError(path, $"wrong JSON type or format for this field{where}");
        }

        if (text.Contains("missing required properties", StringComparison.Ordinal))
        {
            return new PayloadError(path, $"a required field is missing{where}");
        }

        var cut = text.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        }

        var reason = cut > 0 ? text[..cut].TrimEnd() : text;
        return new PayloadError(path, $"malformed JSON: {reason}{where}");
    }

    /// <summary>A value for an error message: short, printable.</summary>
    public static string Quote(string value)
    {
        var shown = value.Length > 64 ? value[..64] + "…" : value;
        return JsonSerializer.Serialize(shown, WebhookResponseJsonContext.Readable.String);
    }

    private static string Between(string text, char quote)
    {
        var start = text.IndexOf(quote, StringComparison.Ordinal);
        var end = start < 0 ? -1 : text.IndexOf(quote, start + 1);
        return end > start ? text[(start + 1)..end] : "?";
    }
}
