using System.Text.RegularExpressions;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Digest;

/// <summary>One container of a workload as the cluster runs it.</summary>
/// <param name="Workload">"deployment/api", "statefulset/db", or "pod/name" for a bare pod.</param>
/// <param name="PullPolicy">imagePullPolicy as the API returns it (defaulted by the API server).</param>
public sealed record ContainerImageUse(string Namespace, string Workload, string Container, string Image, string? PullPolicy);

public enum ImageTagKind
{
    /// <summary>":latest" or no tag: what runs changes whenever someone pushes.</summary>
    Floating,

    /// <summary>A digest, or a semantic-version tag ("1.4.2", "v2.0.1-rc.1"): meant never to change.</summary>
    Immutable,

    /// <summary>Any other tag ("stable", "main", "2024-05"): cannot tell.</summary>
    Other,

    /// <summary>The reference does not parse.</summary>
    Invalid,
}

/// <summary>A workload container with a tag or pull-policy problem.</summary>
public sealed record WorkloadImageFinding(ContainerImageUse Use, ImageTagKind Kind);

/// <summary>The best practices about tags and pull policies, checked against what runs.</summary>
/// <param name="FloatingTags">Containers on ":latest" or no tag (use a specific tag or a digest).</param>
/// <param name="AlwaysOnImmutable">imagePullPolicy Always on a digest or semver tag: every start asks the registry for nothing.</param>
public sealed record WorkloadImageReport(IReadOnlyList<WorkloadImageFinding> FloatingTags, IReadOnlyList<WorkloadImageFinding> AlwaysOnImmutable)
{
    public static WorkloadImageReport Empty { get; } = new([], []);
}

public static partial class WorkloadImageFindings
{
    public static ImageTagKind Classify(string image)
    {
        if (!ImageReference.TryParse(image, out var reference, out _))
        {
            return ImageTagKind.Invalid;
        }

        if (reference.Digest is not null)
        {
            return ImageTagKind.Immutable;
        }

        if (reference.TagImplied || string.Equals(reference.Tag, "latest", StringComparison.Ordinal))
        {
            return ImageTagKind.Floating;
        }

        return reference.Tag is { } tag && SemverTag().IsMatch(tag) ? ImageTagKind.Immutable : ImageTagKind.Other;
    }

    /// <summary>Findings, one per workload container (pods of one workload count once), sorted by namespace and workload.</summary>
    public static WorkloadImageReport Find(IEnumerable<ContainerImageUse> uses)
    {
        ArgumentNullException.ThrowIfNull(uses);
        var distinct = uses
            .DistinctBy(u => (u.Namespace, u.Workload, u.Container, u.Image))
            .OrderBy(u => u.Namespace, StringComparer.Ordinal).ThenBy(u => u.Workload, StringComparer.Ordinal).ThenBy(u => u.Container, StringComparer.Ordinal)
            .Select(u => new WorkloadImageFinding(u, Classify(u.Image)))
            .ToList();
        return new WorkloadImageReport(
            distinct.Where(f => f.Kind == ImageTagKind.Floating).ToList(),
            distinct.Where(f => f.Kind == ImageTagKind.Immutable && string.Equals(f.Use.PullPolicy, "Always", StringComparison.Ordinal)).ToList());
    }

    /// <summary>MAJOR.MINOR.PATCH with optional "v", pre-release and build metadata (semver.org, plus the common "v").</summary>
    [GeneratedRegex(@"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex SemverTag();
}
