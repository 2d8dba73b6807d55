using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace ChatOpsPull.Core.Classification;

/// <summary>A set of phrases as bits (up to 384).</summary>
internal readonly record struct PhraseMask(ulong W0, ulong W1, ulong W2, ulong W3, ulong W4, ulong W5)
{
    public const int Capacity = 384;

    public static PhraseMask Bit(int index) => (index >> 6) switch
    {
        0 => new(1UL << index, 0, 0, 0, 0, 0),
        1 => new(0, 1UL << (index - 64), 0, 0, 0, 0),
        2 => new(0, 0, 1UL << (index - 128), 0, 0, 0),
        3 => new(0, 0, 0, 1UL << (index - 192), 0, 0),
        4 => new(0, 0, 0, 0, 1UL << (index - 256), 0),
        _ => new(0, 0, 0, 0, 0, 1UL << (index - 320)),
    };

    public static PhraseMask operator |(PhraseMask left, PhraseMask right) => left.Or(right);

    public PhraseMask Or(PhraseMask other) => new(W0 | other.W0, W1 | other.W1, W2 | other.W2, W3 | other.W3, W4 | other.W4, W5 | other.W5);

    public bool Intersects(PhraseMask other) =>
        ((W0 & other.W0) | (W1 & other.W1) | (W2 & other.W2) | (W3 & other.W3) | (W4 & other.W4) | (W5 & other.W5)) != 0;
}

/// <summary>Collects lower-case ASCII phrases and hands out one bit per phrase.</summary>
internal sealed class PhraseTable
{
    private readonly List<string> _phrases = [];
    private PhraseMask _positional;

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

    /// <summary>Like <see cref="Any"/>, and every place these phrases occur is also handed to the scan's visitor.</summary>
    public PhraseMask Positional(params string[] phrases)
    {
        var mask = Any(phrases);
        _positional |= mask;
        return mask;
    }

    public PhraseScanner Build() => new([.. _phrases], _positional);
}

/// <summary>Told where a positional phrase (<see cref="PhraseTable.Positional"/>) occurs, during the scan.</summary>
internal interface IPhraseVisitor
{
    /// <summary><paramref name="phrase"/> (its index) occurs in <paramref name="text"/> at <paramref name="at"/>.</summary>
    void Found(int phrase, ReadOnlySpan<char> text, int at);
}

/// <summary>
/// Finds which of its phrases occur in a text, ignoring ASCII case, in one left-to-right pass that neither copies nor
/// lower-cases the text. Each phrase is filed under an anchor: three of its characters that begin with a character
/// rare in kubelet messages ('q', 'x', '_', 'b', …; the phrases' anchors together begin with about a quarter of a
/// message's characters). The pass tests 16 characters at a time for anchor starts (a vector table look-up), and only
/// at those positions reads the three characters there, lower-cased, as one number and looks it up in a small hash
/// table; only at an anchor are the phrases filed under it compared, each at its own offset. A slot also keeps 16
/// more bits of its anchor's hash, so that positions whose hash merely shares the slot are passed over.
/// </summary>
internal sealed class PhraseScanner
{
    private const int SlotBits = 12;

    /// <summary>
    /// How often each character occurs in kubelet messages (per 10,000, from tests/fixtures/messages): the anchors
    /// are chosen to begin with characters as rare as possible. A character not listed counts as rarer than all.
    /// </summary>
    private static readonly (char Character, int PerTenThousand)[] Frequency =
    [
        (' ', 891), ('e', 872), ('r', 608), ('o', 595), ('t', 513), ('a', 506), ('i', 474), ('n', 426), ('s', 389), ('c', 360),
        ('d', 340), ('l', 292), (':', 255), ('u', 244), ('p', 241), ('f', 232), ('/', 217), ('.', 202), ('m', 199), ('g', 170),
        ('1', 136), ('0', 134), ('h', 127), ('2', 121), ('-', 115), ('"', 114), ('k', 112), ('b', 111), ('y', 100), ('v', 88),
        ('5', 88), ('8', 81), ('3', 77), ('x', 72), ('4', 72), ('6', 67), ('w', 57), ('9', 57), ('7', 52), ('=', 48),
        ('z', 37), ('q', 18), ('_', 10), ('>', 10), ('<', 10), ('j', 9), (',', 9), ('%', 9), ('*', 7), ('\'', 5),
    ];

    private readonly string[] _phrases;
    private readonly PhraseMask _positional;

    /// <summary>Anchor starts by low nibble: bit h of entry l is set when the character 16h + l begins an anchor.</summary>
    private readonly Vector128<byte> _startsByLowNibble;
    private readonly bool[] _isStart = new bool[128];

    /// <summary>
    /// Per hash slot: 0 for none, else the anchor's tag (16 more hash bits, never 0; 0 when several anchors share the
    /// slot) in the high half and where its run of entries starts in the low half (runs end with a zero key).
    /// </summary>
    private readonly uint[] _slots = new uint[1 << SlotBits];

    /// <summary>Entries: the anchor's three characters as 48 bits, the phrase, and the anchor's offset in it.</summary>
    private readonly ulong[] _anchors;
    private readonly ushort[] _phraseOfEntry;
    private readonly byte[] _offsetOfEntry;

    public PhraseScanner(string[] phrases, PhraseMask positional = default)
    {
        _phrases = phrases;
        _positional = positional;
        var weight = Frequency.ToDictionary(f => f.Character, f => f.PerTenThousand);
        int Weight(char c) => weight.GetValueOrDefault(c, 1);

        // The anchor-start characters: a cover of all phrases, taken greedily by phrases covered per frequency. A
        // phrase's anchor must begin at least three characters before its end.
        var starts = new HashSet<char>();
        var uncovered = phrases.ToList();
        while (uncovered.Count > 0)
        {
            var best = uncovered.SelectMany(p => p[..^2]).Distinct()
                .Select(c => (Character: c, Covers: uncovered.Count(p => p.AsSpan(0, p.Length - 2).Contains(c))))
                .OrderByDescending(c => c.Covers / (double)Weight(c.Character))
                .ThenBy(c => c.Character)
                .First();
            starts.Add(best.Character);
            uncovered.RemoveAll(p => p.AsSpan(0, p.Length - 2).Contains(best.Character));
        }

        Span<byte> byLowNibble = stackalloc byte[16];
        foreach (var c in starts.SelectMany(c => new[] { c, char.ToUpperInvariant(c) }))
        {
            _isStart[c] = true;
            byLowNibble[c & 0xF] |= (byte)(1 << (c >> 4));
        }

        _startsByLowNibble = Vector128.Create((ReadOnlySpan<byte>)byLowNibble);

        var bySlot = new SortedDictionary<int, List<(ulong Anchor, ushort Phrase, byte Offset)>>();
        for (var i = 0; i < phrases.Length; i++)
        {
            // The rarest anchor start in the phrase, nearest its beginning on a tie.
            var phrase = phrases[i];
            var offset = Enumerable.Range(0, Math.Min(phrase.Length - 2, byte.MaxValue + 1))
                .Where(k => starts.Contains(phrase[k]))
                .OrderBy(k => Weight(phrase[k]))
                .ThenBy(k => k)
                .First();
            var anchor = Pack(phrase[offset], phrase[offset + 1], phrase[offset + 2]);
            if (!bySlot.TryGetValue(Slot(anchor), out var entries))
            {
                bySlot[Slot(anchor)] = entries = [];
            }

            entries.Add((anchor, (ushort)i, (byte)offset));
        }

        var anchors = new List<ulong> { 0 };
        var phraseOfEntry = new List<ushort> { 0 };
        var offsetOfEntry = new List<byte> { 0 };
        foreach (var (slot, entries) in bySlot)
        {
            var tag = entries.Select(e => e.Anchor).Distinct().Count() == 1 ? Tag(entries[0].Anchor) : 0;
            _slots[slot] = (tag << 16) | (uint)anchors.Count;
            foreach (var (anchor, phrase, offset) in entries)
            {
                anchors.Add(anchor);
                phraseOfEntry.Add(phrase);
                offsetOfEntry.Add(offset);
            }

            anchors.Add(0);
            phraseOfEntry.Add(0);
            offsetOfEntry.Add(0);
        }

        _anchors = [.. anchors];
        _phraseOfEntry = [.. phraseOfEntry];
        _offsetOfEntry = [.. offsetOfEntry];
    }

    public int Count => _phrases.Length;

    /// <summary>One bit per phrase that occurs in <paramref name="text"/> (bit i for the i-th phrase added), ignoring ASCII case.</summary>
    public PhraseMask Scan(ReadOnlySpan<char> text)
    {
        var none = default(NoVisitor);
        return Scan(text, ref none);
    }

    /// <summary>As <see cref="Scan(ReadOnlySpan{char})"/>, and tells <paramref name="visitor"/> where each positional phrase occurs.</summary>
    public PhraseMask Scan<TVisitor>(ReadOnlySpan<char> text, ref TVisitor visitor)
        where TVisitor : struct, IPhraseVisitor
    {
        var found = default(PhraseMask);
        var last = text.Length - 3;
        if (last < 0)
        {
            return found;
        }

        ref var first = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
        var i = 0;
        if (Ssse3.IsSupported || AdvSimd.Arm64.IsSupported)
        {
            // 16 characters at a time: characters above 255 become 255, which begins no anchor.
            var limit = Vector128.Create((ushort)0xFF);
            for (; i + 16 <= text.Length && i <= last; i += 16)
            {
                var low = Vector128.Min(Vector128.LoadUnsafe(ref first, (nuint)i), limit);
                var high = Vector128.Min(Vector128.LoadUnsafe(ref first, (nuint)(i + 8)), limit);
                var starts = Starts(Vector128.Narrow(low, high));
                while (starts != 0)
                {
                    var at = i + BitOperations.TrailingZeroCount(starts);
                    starts &= starts - 1;
                    if (at <= last)
                    {
                        Visit(text, at, ref found, ref visitor);
                    }
                }
            }
        }

        for (; i <= last; i++)
        {
            if (text[i] < 128 && _isStart[text[i]])
            {
                Visit(text, i, ref found, ref visitor);
            }
        }

        return found;
    }

    /// <summary>A bit per character (of 16) that begins an anchor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Starts(Vector128<byte> characters)
    {
        var lowNibbles = characters & Vector128.Create((byte)0x0F);
        var highNibbles = Vector128.ShiftRightLogical(characters, 4);
        Vector128<byte> rows, bits;
        if (Ssse3.IsSupported)
        {
            rows = Ssse3.Shuffle(_startsByLowNibble, lowNibbles);
            bits = Ssse3.Shuffle(BitOfHighNibble, highNibbles);
        }
        else
        {
            rows = AdvSimd.Arm64.VectorTableLookup(_startsByLowNibble, lowNibbles);
            bits = AdvSimd.Arm64.VectorTableLookup(BitOfHighNibble, highNibbles);
        }

        return ~Vector128.Equals(rows & bits, Vector128<byte>.Zero).ExtractMostSignificantBits() & 0xFFFF;
    }

    /// <summary>1 &lt;&lt; h for a high nibble h below 8 (ASCII), else 0.</summary>
    private static readonly Vector128<byte> BitOfHighNibble = Vector128.Create((byte)1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>The phrases anchored on the three characters at <paramref name="at"/>, compared where each would start.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Visit<TVisitor>(ReadOnlySpan<char> text, int at, ref PhraseMask found, ref TVisitor visitor)
        where TVisitor : struct, IPhraseVisitor
    {
        var three = Pack(Lower(text[at]), Lower(text[at + 1]), Lower(text[at + 2]));
        var hash = three * HashMultiplier;
        var slot = _slots[(int)(hash >> (64 - SlotBits))];
        if (slot != 0 && ((slot >> 16) == 0 || (slot >> 16) == TagOf(hash)))
        {
            Compare(text, at, three, (int)(slot & 0xFFFF), ref found, ref visitor);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Compare<TVisitor>(ReadOnlySpan<char> text, int at, ulong three, int start, ref PhraseMask found, ref TVisitor visitor)
        where TVisitor : struct, IPhraseVisitor
    {
        for (var entry = start; _anchors[entry] != 0; entry++)
        {
            if (_anchors[entry] != three)
            {
                continue;
            }

            var from = at - _offsetOfEntry[entry];
            var phrase = _phraseOfEntry[entry];
            if (from >= 0 && text[from..].StartsWith(_phrases[phrase], StringComparison.OrdinalIgnoreCase))
            {
                var bit = PhraseMask.Bit(phrase);
                found |= bit;
                if (_positional.Intersects(bit))
                {
                    visitor.Found(phrase, text, from);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static char Lower(char c) => char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;

    /// <summary>Three UTF-16 characters, the first in the low bits.</summary>
    private static ulong Pack(char first, char second, char third) => first | ((ulong)second << 16) | ((ulong)third << 32);

    private const ulong HashMultiplier = 0x9E3779B97F4A7C15UL;

    private static int Slot(ulong three) => (int)((three * HashMultiplier) >> (64 - SlotBits));

    private static uint Tag(ulong three) => TagOf(three * HashMultiplier);

    /// <summary>The 16 hash bits below the slot's, never 0 (0 marks a slot several anchors share).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint TagOf(ulong hash) => (uint)((hash >> (48 - SlotBits)) & 0xFFFF) | 1;

    private struct NoVisitor : IPhraseVisitor
    {
        public readonly void Found(int phrase, ReadOnlySpan<char> text, int at)
        {
        }
    }
}
