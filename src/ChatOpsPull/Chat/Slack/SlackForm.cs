using System.Text;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Strict application/x-www-form-urlencoded decoding: bad percent escapes, invalid UTF-8, NUL characters and repeated
/// fields are refused rather than guessed at.
/// </summary>
public static class SlackForm
{
    private const int MaxFields = 64;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryParse(ReadOnlySpan<byte> body, out Dictionary<string, string> fields, out string error)
    {
        fields = new Dictionary<string, string>(StringComparer.Ordinal);
        error = string.Empty;
        var rest = body;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)'&');
            var pair = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 1)..];
            if (pair.IsEmpty)
            {
                continue;
            }

            var equals = pair.IndexOf((byte)'=');
            if (equals <= 0)
            {
                error = "a form field has no name or no '='";
                return false;
            }

            if (!TryDecode(pair[..equals], out var name) || !TryDecode(pair[(equals + 1)..], out var value))
            {
                error = "a form field is not valid percent-encoded UTF-8";
                return false;
            }

            if (fields.Count == MaxFields)
            {
                error = "too many form fields";
                return false;
            }

            if (!fields.TryAdd(name, value))
            {
                error = $"the form field '{Shorten(name)}' appears twice";
                return false;
            }
        }

        return true;
    }

    private static bool TryDecode(ReadOnlySpan<byte> encoded, out string value)
    {
        value = string.Empty;
        var buffer = encoded.Length <= 512 ? stackalloc byte[encoded.Length] : new byte[encoded.Length];
        var length = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var b = encoded[i];
            if (b == '+')
            {
                buffer[length++] = (byte)' ';
            }
            else if (b == '%')
            {
                if (i + 2 >= encoded.Length || !TryHex(encoded[i + 1], out var high) || !TryHex(encoded[i + 2], out var low))
                {
                    return false;
                }

                buffer[length++] = (byte)((high << 4) | low);
                i += 2;
            }
            else if (b < 0x20 || b == 0x7F)
            {
                return false;
            }
            else
            {
                buffer[length++] = b;
            }
        }

        try
        {
            value = StrictUtf8.GetString(buffer[..length]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        return !value.Contains('\0', StringComparison.Ordinal);
    }

    private static bool TryHex(byte b, out int value)
    {
        value = b switch
        {
            >= (byte)'0' and <= (byte)'9' => b - '0',
            >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
            >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
            _ => -1,
        };
        return value >= 0;
    }

    private static string Shorten(string name) => name.Length <= 40 ? name : name[..40] + "…";
}
