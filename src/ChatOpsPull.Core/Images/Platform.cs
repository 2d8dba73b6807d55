using System.Diagnostics.CodeAnalysis;

namespace ChatOpsPull.Core.Images;

/// <summary>
/// An OS/architecture(/variant) as image indexes and nodes name it ("linux/arm64", "linux/arm/v7"),
/// normalized the way containerd's <c>platforms.Normalize</c> does (aarch64 → arm64, x86_64 → amd64, armhf → arm/v7 …).
/// </summary>
public sealed record Platform
{
    public Platform(string os, string architecture, string? variant = null)
    {
        (Os, Architecture, Variant) = Normalize(os, architecture, variant);
    }

    public string Os { get; }

    public string Architecture { get; }

    /// <summary>CPU variant ("v7" for arm, "v8" is folded into plain arm64), null when none.</summary>
    public string? Variant { get; }

    public override string ToString() => Os + "/" + Architecture + (Variant is null ? string.Empty : "/" + Variant);

    public static Platform Parse(string value) =>
        TryParse(value, out var platform, out var error) ? platform : throw new FormatException(error);

    /// <summary>Parses "os/arch" or "os/arch/variant" (as kubectl, docker --platform and node labels give them).</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out Platform? platform, [NotNullWhen(false)] out string? error)
    {
        platform = null;
        var parts = (value ?? string.Empty).Trim().Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0 || p.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_' && c != '.' && c != '-')))
        {
            error = $"platform \"{value}\" must be os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7";
            return false;
        }

        platform = new Platform(parts[0], parts[1], parts.Length == 3 ? parts[2] : null);
        error = null;
        return true;
    }

    /// <summary>
    /// Whether a node of this platform can run an image built for <paramref name="image"/>: same OS and architecture,
    /// and for arm an image variant no newer than the node's (an arm/v7 node runs v6 and v5 images, as containerd allows).
    /// </summary>
    public bool CanRun(Platform image)
    {
        if (!string.Equals(Os, image.Os, StringComparison.Ordinal) || !string.Equals(Architecture, image.Architecture, StringComparison.Ordinal))
        {
            return false;
        }

        if (Variant is null || image.Variant is null || string.Equals(Variant, image.Variant, StringComparison.Ordinal))
        {
            return true;
        }

        return Architecture == "arm" && VariantNumber(image.Variant) is { } imageLevel && VariantNumber(Variant) is { } nodeLevel && imageLevel <= nodeLevel;
    }

    private static int? VariantNumber(string variant) =>
        variant.Length > 1 && variant[0] == 'v' && int.TryParse(variant.AsSpan(1), out var n) ? n : null;

    private static (string Os, string Architecture, string? Variant) Normalize(string os, string architecture, string? variant)
    {
        var o = os.Trim().ToLowerInvariant();
        if (o == "macos")
        {
            o = "darwin";
        }

        var a = architecture.Trim().ToLowerInvariant();
        var v = string.IsNullOrWhiteSpace(variant) ? null : variant.Trim().ToLowerInvariant();
        switch (a)
        {
            case "i386":
                a = "386";
                v = null;
                break;
            case "x86_64" or "x86-64" or "amd64":
                a = "amd64";
                if (v == "v1")
                {
                    v = null;
                }

                break;
            case "aarch64" or "arm64":
                a = "arm64";
                if (v is "8" or "v8" or "v8.0")
                {
                    v = null;
                }

                break;
            case "armhf":
                a = "arm";
                v = "v7";
                break;
            case "armel":
                a = "arm";
                v = "v6";
                break;
            case "arm":
                v = v switch
                {
                    null or "7" => "v7",
                    "5" or "6" or "8" => "v" + v,
                    _ => v,
                };
                break;
        }

        return (o, a, v);
    }
}
