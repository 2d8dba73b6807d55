using System.Text;

namespace ChatOpsPull.Core.Classification;

/// <summary>A set of phrases as bits (up to 256).</summary>
internal readonly record struct PhraseMask(ulong W0, ulong W1, ulong W2, ulong W3)
{
    public const int Capacity = 256;

    public static PhraseMask Bit(int index) => (index >> 6) switch
    {
        0 => new(1UL << index, 0, 0, 0),
        1 => new(0, 1UL << (index - 64), 0, 0),
        2 => new(0, 0, 1UL << (index - 128), 0),
        _ => new(0, 0, 0, 1UL << (index - 192)),
    };

    public static PhraseMask operator |(PhraseMask left, PhraseMask right) => left.Or(right);

    public PhraseMask Or(PhraseMask other) => new(W0 | other.W0, W1 | other.W1, W2 | other.W2, W3 | other.W3);

    public bool Intersects(PhraseMask other) => ((W0 & other.W0) | (W1 & other.W1) | (W2 & other.W2) | (W3 & other.W3)) != 0;
}

/// <summary>Collects lower-case ASCII phrases and hands out one bit per phrase.</summary>
internal sealed class PhraseTable
{
    private readonly List<string> _phrases = [];

    /// <summary>The mask with the bits of these phrases; a phrase already known keeps its bit.</summary>
    public PhraseMask Any(params string[] phrases)
    {
        var mask = default(PhraseMask);
        foreach (var phrase in phrases)
        {
            if (phrase.Length < 3 || !Ascii.IsValid(phrase) || !string.Equals(phrase, phrase.ToLowerInvariant(), StringComparison.Ordinal))
            {
                throw new ArgumentException($"Phrase \"{phrase}\" must be lower-case ASCII of at least 3 characters.", nameof(phrases));
            }

            var index = _phrases.IndexOf(phrase);
            if (index < 0)
            {
                index = _phrases.Count;
                if (index == PhraseMask.Capacity)
                {
                    throw new InvalidOperationException($"A phrase table holds at most {PhraseMask.Capacity} phrases.");
                }

                _phrases.Add(phrase);
            }

            mask |= PhraseMask.Bit(index);
        }

        return mask;
    }

    public PhraseScanner Build() => new([.. _phrases]);
}

/// <summary>
/// Finds which of its phrases occur in a (lower-cased) text in one left-to-right pass. A rolling key of the last
/// three characters (5 bits each) indexes a table of the phrases that start with those characters; only there is a
/// phrase compared. Most positions cost a shift, an or and one table load.
/// </summary>
internal sealed class PhraseScanner
{
    private const int KeyBits = 15;
    private const int KeyMask = (1 << KeyBits) - 1;

    private readonly string[] _phrases;
    private readonly short[] _bucketOfKey = new short[1 << KeyBits];
    private readonly byte[][] _buckets;

    public PhraseScanner(string[] phrases)
    {
        _phrases = phrases;
        var buckets = new List<List<byte>> { new() };
        for (var i = 0; i < phrases.Length; i++)
        {
            var key = Key(phrases[i][0], phrases[i][1], phrases[i][2]);
            if (_bucketOfKey[key] == 0)
            {
                _bucketOfKey[key] = (short)buckets.Count;
                buckets.Add([]);
            }

            buckets[_bucketOfKey[key]].Add((byte)i);
        }

        _buckets = [.. buckets.Select(b => b.ToArray())];
    }

    public int Count => _phrases.Length;

    /// <summary>One bit per phrase that occurs in <paramref name="text"/> (bit i for the i-th phrase added).</summary>
    public PhraseMask Scan(ReadOnlySpan<char> text)
    {
        var found = default(PhraseMask);
        var key = 0;
        for (var i = 0; i < text.Length; i++)
        {
            key = ((key << 5) | (text[i] & 0x1F)) & KeyMask;
            if (i < 2)
            {
                continue;
            }

            var bucket = _bucketOfKey[key];
            if (bucket == 0)
            {
                continue;
            }

            var start = text[(i - 2)..];
            foreach (var index in _buckets[bucket])
            {
                if (start.StartsWith(_phrases[index], StringComparison.Ordinal))
                {
                    found |= PhraseMask.Bit(index);
                }
            }
        }

        return found;
    }

    private static int Key(char first, char second, char third) => ((first & 0x1F) << 10) | ((second & 0x1F) << 5) | (third & 0x1F);
}
