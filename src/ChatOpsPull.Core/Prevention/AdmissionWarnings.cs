namespace ChatOpsPull.Core.Prevention;

/// <summary>
/// Admission warnings within the limits the Kubernetes API documents for <c>AdmissionResponse.warnings</c>
/// (k8s.io/api admission/v1): "Limit warnings to 120 characters if possible. Warnings over 256 characters and large
/// numbers of warnings may be truncated." The API server sends each as an HTTP <c>Warning: 299</c> header, which kubectl
/// and CI pipelines print. So: one line each, no control characters, at most <see cref="MaxCount"/> of them; a warning
/// longer than <see cref="PreferredLength"/> is shortened in its middle (the image name) where it can be, and never
/// exceeds <see cref="MaxLength"/>.
/// </summary>
public static class AdmissionWarnings
{
    public const int PreferredLength = 120;
    public const int MaxLength = 256;

    /// <summary>How many warnings one review returns at most; the last says how many more were left out.</summary>
    public const int MaxCount = 8;

    /// <summary>The warnings to send: cleaned, shortened, counted.</summary>
    public static IReadOnlyList<string> Fit(IEnumerable<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(warnings);
        var all = warnings.Select(Clean).Where(w => w.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (all.Count <= MaxCount)
        {
            return all;
        }

        var kept = all.Take(MaxCount - 1).ToList();
        kept.Add($"chatopspull: {all.Count - kept.Count} more images cannot be pulled; see the bot's card");
        return kept;
    }

    /// <summary>One line, printable, at most <see cref="MaxLength"/> characters.</summary>
    public static string Clean(string warning)
    {
        ArgumentNullException.ThrowIfNull(warning);
        var line = new string(warning.Select(c => char.IsControl(c) ? ' ' : c).ToArray()).Trim();
        return line.Length <= MaxLength ? line : string.Concat(line.AsSpan(0, MaxLength - 1), "…");
    }

    /// <summary>
    /// An image name for a warning: as written when short, else its registry, "…" and the end of its path and tag, so the
    /// sentence around it can stay within <see cref="PreferredLength"/>.
    /// </summary>
    public static string ShortImage(string image, int max = 60)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Length <= max)
        {
            return image;
        }

        var slash = image.IndexOf('/', StringComparison.Ordinal);
        var head = slash is > 0 and < 30 ? image[..(slash + 1)] : string.Empty;
        var tailLength = Math.Max(8, max - head.Length - 1);
        return head + "…" + image[^Math.Min(tailLength, image.Length)..];
    }
}
