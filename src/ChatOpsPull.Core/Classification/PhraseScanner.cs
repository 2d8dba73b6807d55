using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace ChatOpsPull.Core.Classification;

/// <summary>A set of phrases as bits (up to 512).</summary>
internal readonly record struct PhraseMask(ulong W0, ulong W1, ulong W2, ulong W3, ulong W4, ulong W5, ulong W6, ulong W7)
{
    public const int Capacity = 512;

    public static PhraseMask Bit(int index) => (index >> 6) switch
    {
        0 => new(1UL << index, 0, 0, 0, 0, 0, 0, 0),
        1 => new(0, 1UL << (index - 64), 0, 0, 0, 0, 0, 0),
        2 => new(0, 0, 1UL << (index - 128), 0, 0, 0, 0, 0),
        3 => new(0, 0, 0, 1UL << (index - 192), 0, 0, 0, 0),
        4 => new(0, 0, 0, 0, 1UL << (index - 256), 0, 0, 0),
        5 => new(0, 0, 0, 0, 0, 1UL << (index - 320), 0, 0),
        6 => new(0, 0, 0, 0, 0, 0, 1UL << (index - 384), 0),
        _ => new(0, 0, 0, 0, 0, 0, 0, 1UL << (index - 448)),
    };

    public static PhraseMask operator |(PhraseMask left, PhraseMask right) => left.Or(right);

    public PhraseMask Or(PhraseMask other) =>
        new(W0 | other.W0, W1 | other.W1, W2 | other.W2, W3 | other.W3, W4 | other.W4, W5 | other.W5, W6 | other.W6, W7 | other.W7);

    public bool Intersects(PhraseMask other) =>
        ((W0 & other.W0) | (W1 & other.W1) | (W2 & other.W2) | (W3 & other.W3) | (W4 & other.W4) | (W5 & other.W5) | (W6 & other.W6) | (W7 & other.W7)) != 0;
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
/// Finds which of its phrases occur in a text, ignoring case, in one left-to-right pass over the text lower-cased
/// once (on the stack when short; a vectorized copy costs less than lower-casing at every position), and tells a
/// visitor where each positional phrase starts while it passes it, so that nothing reads the text again. Each phrase is filed under one
/// of its three-character pieces, its anchor: the piece the fewest phrases share, so that phrases with a common start
/// ("failed to …") do not all have to be compared wherever that start occurs. At each text position the three
/// characters there are read as one number and looked up in a small hash table; only at an anchor (a few positions per
/// message) are the phrases filed under it compared, each at its own offset. A slot also keeps 16 more bits of the hash
/// of its anchor, so that positions whose hash merely shares the slot are passed over without a call. Most positions
/// cost one unaligned load, a multiply, a shift and one load from a 16 KiB table.
/// </summary>
internal sealed class PhraseScanner
{
    private const int SlotBits = 12;
    /// <summary>The three characters of a four-character read that come first in the text.</summary>
    private static readonly ulong ThreeChars = BitConverter.IsLittleEndian ? 0x0000_FFFF_FFFF_FFFFUL : 0xFFFF_FFFF_FFFF_0000UL;

    /// <summary>Texts up to this length are lower-cased on the stack.</summary>
    private const int StackLimit = 1024;

    private readonly string[] _phrases;
    private readonly PhraseMask _positional;

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
        var sharing = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var phrase in phrases)
        {
            foreach (var piece in Pieces(phrase).Select(p => p.Piece).Distinct(StringComparer.Ordinal))
            {
                sharing[piece] = sharing.GetValueOrDefault(piece) + 1;
            }
        }

        var bySlot = new SortedDictionary<int, List<(ulong Anchor, ushort Phrase, byte Offset)>>();
        for (var i = 0; i < phrases.Length; i++)
        {
            // The least shared piece, avoiding spaces (common in any text), nearest the start on a tie.
            var (piece, offset) = Pieces(phrases[i])
                .OrderBy(p => (sharing[p.Piece] * 4) + (p.Piece.Contains(' ', StringComparison.Ordinal) ? 2 : 0))
                .ThenBy(p => p.Offset)
                .First();
            var anchor = Pack(piece[0], piece[1], piece[2]);
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

    /// <summary>One bit per phrase that occurs in <paramref name="text"/> (bit i for the i-th phrase added), ignoring case.</summary>
    public PhraseMask Scan(ReadOnlySpan<char> text)
    {
        var none = default(NoVisitor);
        return Scan(text, ref none);
    }

    /// <summary>
    /// As <see cref="Scan(ReadOnlySpan{char})"/>, and tells <paramref name="visitor"/> where each positional phrase
    /// occurs (in the lower-cased text it is handed, whose positions are the text's).
    /// </summary>
    public PhraseMask Scan<TVisitor>(ReadOnlySpan<char> text, ref TVisitor visitor)
        where TVisitor : struct, IPhraseVisitor
    {
        char[]? rented = null;
        Span<char> lower = text.Length <= StackLimit
            ? stackalloc char[text.Length]
            : (rented = ArrayPool<char>.Shared.Rent(text.Length)).AsSpan(0, text.Length);
        try
        {
            text.ToLowerInvariant(lower);
            return ScanLower(lower, ref visitor);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private PhraseMask ScanLower<TVisitor>(ReadOnlySpan<char> text, ref TVisitor visitor)
        where TVisitor : struct, IPhraseVisitor
    {
        var found = default(PhraseMask);
        var last = text.Length - 3;
        if (last < 0)
        {
            return found;
        }

        ref var bytes = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(text));
        ref var slots = ref MemoryMarshal.GetArrayDataReference(_slots);

        // Every position but the last reads four characters at once and keeps three.
        for (var i = 0; i < last; i++)
        {
            var three = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref bytes, i * sizeof(char))) & ThreeChars;
            var hash = three * HashMultiplier;
            var slot = Unsafe.Add(ref slots, (int)(hash >> (64 - SlotBits)));
            if (slot != 0 && ((slot >> 16) == 0 || (slot >> 16) == TagOf(hash)))
            {
                Compare(text, i, three, (int)(slot & 0xFFFF), ref found, ref visitor);
            }
        }

        var tail = Pack(text[last], text[last + 1], text[last + 2]);
        if (_slots[Slot(tail)] is var tailSlot and not 0)
        {
            Compare(text, last, tail, (int)(tailSlot & 0xFFFF), ref found, ref visitor);
        }

        return found;
    }

    /// <summary>The phrases anchored on the three characters at <paramref name="at"/>, compared where each would start.</summary>
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
            if (from >= 0 && text[from..].StartsWith(_phrases[phrase], StringComparison.Ordinal))
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

    private static IEnumerable<(string Piece, int Offset)> Pieces(string phrase) =>
        Enumerable.Range(0, Math.Min(phrase.Length - 2, byte.MaxValue + 1)).Select(k => (phrase.Substring(k, 3), k));

    /// <summary>Three UTF-16 characters as they lie in memory (little-endian), the first in the low bits.</summary>
    private static ulong Pack(char first, char second, char third) =>
        BitConverter.IsLittleEndian
            ? first | ((ulong)second << 16) | ((ulong)third << 32)
            : ((ulong)first << 48) | ((ulong)second << 32) | ((ulong)third << 16);

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
