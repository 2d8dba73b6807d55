using System.Globalization;

namespace ChatOpsPull.Core.Images;

/// <summary>Why a tag is suggested in place of one that does not exist.</summary>
public enum TagSuggestionReason
{
    /// <summary>The name is a small edit away (a typo: "lates" → "latest").</summary>
    ClosestName,

    /// <summary>The highest existing version below the missing one in the same line (1.4.3 → 1.4.2).</summary>
    ClosestLowerVersion,

    /// <summary>The lowest existing version above the missing one in the same line, when nothing lower exists.</summary>
    ClosestHigherVersion,

    /// <summary>The newest version with the same major number ("newest 1.x").</summary>
    NewestInMajor,

    /// <summary>The newest version of all (used when the major line does not exist, or for a missing "latest").</summary>
    NewestRelease,
}

/// <param name="Tag">An existing tag.</param>
/// <param name="Explanation">Plain words for a card ("newest 1.x", "closest lower 1.4 version").</param>
public sealed record TagSuggestion(string Tag, TagSuggestionReason Reason, string Explanation);

/// <summary>
/// Nearest existing tags for a tag the registry does not have: typo distance for names, version order for
/// version-shaped tags ("v1.4.3", "1.25-alpine"; prefix and suffix must agree). Pure; the registry check feeds it the tag list.
/// </summary>
public static class TagSuggestions
{
    public static IReadOnlyList<TagSuggestion> For(string missingTag, IEnumerable<string> existingTags, int max = 3)
    {
        ArgumentNullException.ThrowIfNull(missingTag);
        var tags = existingTags.Where(t => !string.Equals(t, missingTag, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
        var result = new List<TagSuggestion>();
        if (tags.Count == 0 || max <= 0)
        {
            return result;
        }

        var missingVersion = TagVersion.TryParse(missingTag);
        var versions = tags.Select(TagVersion.TryParse).OfType<TagVersion>().ToList();

        // Typos first for names ("lates" → "latest"); for versions the version order speaks first.
        var typos = ClosestNames(missingTag, tags, onlyNonVersions: missingVersion is not null);
        if (missingVersion is null)
        {
            result.AddRange(typos);
        }

        if (missingVersion is not null)
        {
            AddVersionSuggestions(missingVersion, versions, result);
            if (result.Count == 0)
            {
                result.AddRange(ClosestNames(missingTag, tags, onlyNonVersions: false));
            }
        }
        else if (string.Equals(missingTag, "latest", StringComparison.OrdinalIgnoreCase) || result.Count == 0)
        {
            var newest = versions.Where(v => v.Suffix.Length == 0).DefaultIfEmpty().Max();
            if (newest is not null)
            {
                result.Add(new TagSuggestion(newest.Tag, TagSuggestionReason.NewestRelease, "newest release"));
            }
        }

        return result.DistinctBy(s => s.Tag).Take(max).ToList();
    }

    private static void AddVersionSuggestions(TagVersion missing, List<TagVersion> versions, List<TagSuggestion> result)
    {
        var sameKind = versions.Where(v => v.IsSameKind(missing)).ToList();
        var sameMajor = sameKind.Where(v => v.Part(0) == missing.Part(0)).ToList();
        var sameMinor = missing.Parts.Length >= 3 ? sameMajor.Where(v => v.Part(1) == missing.Part(1)).ToList() : sameMajor;
        var line = missing.Parts.Length >= 3 ? $"{missing.Prefix}{missing.Part(0)}.{missing.Part(1)}" : $"{missing.Prefix}{missing.Part(0)}.x";

        var lower = sameMinor.Where(v => v.CompareTo(missing) < 0).DefaultIfEmpty().Max()
            ?? sameMajor.Where(v => v.CompareTo(missing) < 0).DefaultIfEmpty().Max();
        if (lower is not null)
        {
            result.Add(new TagSuggestion(lower.Tag, TagSuggestionReason.ClosestLowerVersion, $"closest lower {line} version"));
        }
        else
        {
            var higher = sameMinor.Where(v => v.CompareTo(missing) > 0).DefaultIfEmpty().Min()
                ?? sameMajor.Where(v => v.CompareTo(missing) > 0).DefaultIfEmpty().Min();
            if (higher is not null)
            {
                result.Add(new TagSuggestion(higher.Tag, TagSuggestionReason.ClosestHigherVersion, $"closest higher {line} version"));
            }
        }

        var newestInMajor = sameMajor.DefaultIfEmpty().Max();
        if (newestInMajor is not null)
        {
            result.Add(new TagSuggestion(newestInMajor.Tag, TagSuggestionReason.NewestInMajor, $"newest {missing.Prefix}{missing.Part(0)}.x"));
        }
        else
        {
            var newest = sameKind.DefaultIfEmpty().Max();
            if (newest is not null)
            {
                result.Add(new TagSuggestion(newest.Tag, TagSuggestionReason.NewestRelease, "newest release"));
            }
        }
    }

    private static IEnumerable<TagSuggestion> ClosestNames(string missing, List<string> tags, bool onlyNonVersions)
    {
        var limit = missing.Length <= 3 ? 1 : missing.Length <= 8 ? 2 : 3;
        return tags
            .Where(t => !onlyNonVersions || TagVersion.TryParse(t) is null)
            .Select(t => (Tag: t, Distance: EditDistance(missing.ToLowerInvariant(), t.ToLowerInvariant())))
            .Where(c => c.Distance <= limit)
            .OrderBy(c => c.Distance)
            .ThenBy(c => Math.Abs(c.Tag.Length - missing.Length))
            .ThenBy(c => c.Tag, StringComparer.Ordinal)
            .Select(c => new TagSuggestion(c.Tag, TagSuggestionReason.ClosestName, c.Distance == 0 ? "same name, different case" : "closest name"));
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1.</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>A version-shaped tag: optional "v", 1–4 dot-separated numbers, optional suffix ("-alpine", "-rc1", "+build").</summary>
    private sealed class TagVersion : IComparable<TagVersion>
    {
        private TagVersion(string tag, string prefix, long[] parts, string suffix)
        {
            Tag = tag;
            Prefix = prefix;
            Parts = parts;
            Suffix = suffix;
        }

        public string Tag { get; }

        public string Prefix { get; }

        public long[] Parts { get; }

        public string Suffix { get; }

        public long Part(int index) => index < Parts.Length ? Parts[index] : 0;

        public bool IsSameKind(TagVersion other) =>
            string.Equals(Prefix, other.Prefix, StringComparison.OrdinalIgnoreCase) && string.Equals(Suffix, other.Suffix, StringComparison.Ordinal);

        public static TagVersion? TryParse(string tag)
        {
            var i = 0;
            var prefix = string.Empty;
            if (tag.Length > 1 && (tag[0] == 'v' || tag[0] == 'V') && char.IsAsciiDigit(tag[1]))
            {
                prefix = tag[..1];
                i = 1;
            }

            var parts = new List<long>();
            while (i < tag.Length && parts.Count < 4)
            {
                var start = i;
                while (i < tag.Length && char.IsAsciiDigit(tag[i]))
                {
                    i++;
                }

                if (i == start || i - start > 18)
                {
                    return null;
                }

                parts.Add(long.Parse(tag.AsSpan(start, i - start), CultureInfo.InvariantCulture));
                if (i < tag.Length && tag[i] == '.' && i + 1 < tag.Length && char.IsAsciiDigit(tag[i + 1]))
                {
                    i++;
                    continue;
                }

                break;
            }

            if (parts.Count == 0)
            {
                return null;
            }

            var suffix = tag[i..];
            if (suffix.Length > 0 && suffix[0] is not '-' and not '+' and not '_')
            {
                return null;
            }

            return new TagVersion(tag, prefix, parts.ToArray(), suffix);
        }

        public int CompareTo(TagVersion? other)
        {
            if (other is null)
            {
                return 1;
            }

            for (var i = 0; i < Math.Max(Parts.Length, other.Parts.Length); i++)
            {
                var c = Part(i).CompareTo(other.Part(i));
                if (c != 0)
                {
                    return c;
                }
            }

            // "1.4.0" sorts above "1.4" so the more precise tag wins a tie.
            return Parts.Length.CompareTo(other.Parts.Length);
        }
    }
}
