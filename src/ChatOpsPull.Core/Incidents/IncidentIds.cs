using System.Security.Cryptography;

namespace ChatOpsPull.Core.Incidents;

/// <summary>Short ids people can type: "inc-" + 8 characters of lowercase Crockford base32 (40 random bits).</summary>
public static class IncidentIds
{
    public const string Prefix = "inc-";
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
    private static readonly System.Buffers.SearchValues<char> AlphabetValues = System.Buffers.SearchValues.Create(Alphabet);

    public static string New() => Prefix + RandomChars(8);

    /// <summary>Random characters from the base32 alphabet (no i, l, o, u: nothing to misread).</summary>
    public static string RandomChars(int length)
    {
        Span<byte> bytes = stackalloc byte[length];
        RandomNumberGenerator.Fill(bytes);
        Span<char> chars = stackalloc char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = Alphabet[bytes[i] & 31];
        }

        return new string(chars);
    }

    public static bool IsWellFormed(string? id) =>
        id is { Length: 12 } && id.StartsWith(Prefix, StringComparison.Ordinal) && id.AsSpan(4).IndexOfAnyExcept(AlphabetValues) < 0;
}
