using System.Text.RegularExpressions;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>The name rules the Kubernetes API enforces, so nothing else reaches an incident or a card.</summary>
public static partial class KubernetesNames
{
    /// <summary>RFC 1123 label (namespaces, container names): at most 63 lower-case letters, digits and '-'.</summary>
    public static bool IsLabel(string value) => value.Length <= 63 && Label().IsMatch(value);

    /// <summary>RFC 1123 subdomain (pods, workloads, nodes): at most 253 characters, labels joined by '.'.</summary>
    public static bool IsSubdomain(string value) => value.Length <= 253 && Subdomain().IsMatch(value);

    /// <summary>A cluster name as Bot:Cluster allows it.</summary>
    public static bool IsClusterName(string value) => ClusterName().IsMatch(value);

    /// <summary>A workload kind: an API kind name such as Deployment or StatefulSet.</summary>
    public static bool IsKind(string value) => value.Length <= 63 && Kind().IsMatch(value);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Label();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Subdomain();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClusterName();

    [GeneratedRegex("^[A-Z][A-Za-z0-9]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Kind();
}
