using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace ChatOpsPull.Storage;

/// <summary>
/// Long texts that rows repeat, kept by content: a text read again comes back as the string made the first time instead
/// of a new one. A diagnosed incident's row carries its diagnosis JSON (kilobytes), and every round of a storm that
/// joins the incident reads the row again with the text unchanged; the strings made of it were a tenth of the storm's
/// allocations in the bot. At most <paramref name="limit"/> texts are kept; past it the map starts again.
/// </summary>
internal sealed class KnownTexts(int limit)
{
    private readonly ConcurrentDictionary<string, string> _texts = new(StringComparer.Ordinal);

    /// <summary>The text of <paramref name="utf8"/>: the kept string when one with the same characters was seen.</summary>
    public string Of(ReadOnlySpan<byte> utf8)
    {
        var length = Encoding.UTF8.GetCharCount(utf8);
        var rented = ArrayPool<char>.Shared.Rent(length);
        try
        {
            var chars = rented.AsSpan(0, Encoding.UTF8.GetChars(utf8, rented));
            if (_texts.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars, out var known))
            {
                return known;
            }

            if (_texts.Count >= limit)
            {
                _texts.Clear();
            }

            var text = new string(chars);
            return _texts.GetOrAdd(text, text);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }
}
