using System.Text;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Shares the strings many pods repeat (namespaces, node names, owners, images, reasons, runtime messages) while the
/// watcher reads JSON: a value already seen comes back as the same string, without a new allocation. Bounded: at
/// <see cref="Limit"/> distinct values it starts over (strings already handed out stay valid), and values longer than
/// <see cref="LongestShared"/> characters are only decoded. Not thread-safe: one per reading loop.
/// </summary>
internal sealed class StringPool
{
    private const int Limit = 20_000;
    private const int LongestShared = 512;
    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public StringPool()
    {
        _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _strings.Count;

    /// <summary>The pooled string with these UTF-8 bytes (already unescaped).</summary>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > LongestShared)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        Span<char> chars = stackalloc char[LongestShared];
        var length = Encoding.UTF8.GetChars(utf8, chars);
        return Get(chars[..length]);
    }

    public string Get(ReadOnlySpan<char> chars)
    {
        if (chars.Length > LongestShared)
        {
            return chars.ToString();
        }

        if (_lookup.TryGetValue(chars, out var known))
        {
            return known;
        }

        var made = chars.ToString();
        if (_strings.Count >= Limit)
        {
            _strings.Clear();
        }

        _strings.Add(made);
        return made;
    }
}
