namespace ChatOpsPull.Core.Failures;

/// <summary>
/// A workload read from a pod's name, the way people who only see a pod name (kube-state-metrics series, alerts without
/// owner labels) read it. Not checked against the cluster: cards say "inferred".
/// </summary>
/// <param name="Name">The workload's name.</param>
/// <param name="Kinds">The kinds whose controllers name pods this way: one kind, or several when the shape is shared.</param>
/// <param name="Pod">The pod name it was read from.</param>
public sealed record InferredWorkload(string Name, IReadOnlyList<string> Kinds, string Pod)
{
    /// <summary>"deployment/web", or "node-exporter (DaemonSet, Job or ReplicaSet)" when the kind cannot be told.</summary>
    public string Subject => Kinds.Count == 1
        ? $"{Kinds[0].ToLowerInvariant()}/{Name}"
        : $"{Name} ({string.Join(", ", Kinds.Take(Kinds.Count - 1))} or {Kinds[^1]})";
}

/// <summary>
/// Reads a pod's owner from its name by the rules the controllers name pods with (kube-controller-manager):
/// <list type="bullet">
/// <item>Deployment: its ReplicaSet is <c>{deployment}-{pod-template-hash}</c>, the hash being the template's 32-bit
/// FNV hash in decimal, re-spelled with the letters <c>bcdfghjklmnpqrstvwxz2456789</c> (1 to 10 of them; fewer than 6
/// for one hash in 10,000, so shorter segments are read as part of the name); the pod is the ReplicaSet's name, a
/// hyphen and 5 random letters: <c>web-7d9c5b6f4-x2x4p</c> → Deployment <c>web</c>.</item>
/// <item>CronJob: its Job is <c>{cronjob}-{scheduled time in minutes since 1970}</c> (8 digits this century), the pod
/// that name, a hyphen and 5 random letters: <c>report-29397600-k8x2q</c> → CronJob <c>report</c>.</item>
/// <item>StatefulSet: <c>{statefulset}-{ordinal}</c>: <c>db-0</c> → StatefulSet <c>db</c>.</item>
/// <item>DaemonSet, Job, bare ReplicaSet: <c>{name}-</c> and 5 random letters from the same alphabet; the name does
/// not say which of the three: <c>node-exporter-x7k2p</c> → <c>node-exporter</c> (DaemonSet, Job or ReplicaSet).</item>
/// </list>
/// A generated name is cut to 58 characters before the random letters are added; such a pod (63 characters) whose cut
/// went into the owner's name is not inferred. Anything else (static pods named after their node, hand-named pods)
/// infers nothing.
/// </summary>
public static class WorkloadInference
{
    /// <summary>The letters Kubernetes draws random name parts and hashes from (apimachinery util/rand).</summary>
    public const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";

    private const int RandomLength = 5;
    private const int MaxGeneratedBase = 58;

    /// <summary>Minutes since 1970 for 2008-01 … 2103-02: the CronJob controller's Job-name suffix (8 digits).</summary>
    private const long MinScheduleMinutes = 20_000_000, MaxScheduleMinutes = 70_000_000;

    private static readonly string[] GeneratedKinds = ["DaemonSet", "Job", "ReplicaSet"];

    public static InferredWorkload? FromPodName(string pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Length is 0 or > 253)
        {
            return null;
        }

        var last = pod.LastIndexOf('-');
        if (last <= 0 || last == pod.Length - 1)
        {
            return null;
        }

        var tail = pod[(last + 1)..];
        var owner = pod[..last];

        // StatefulSet: an ordinal, unless it is also a possible random suffix (5 letters of the alphabet, all digits).
        if (IsOrdinal(tail) && !(tail.Length == RandomLength && InAlphabet(tail)))
        {
            return new InferredWorkload(owner, ["StatefulSet"], pod);
        }

        if (tail.Length != RandomLength || !IsLowerAlphanumeric(tail) || pod.Length > MaxGeneratedBase + RandomLength || pod.Length - RandomLength - 1 != last)
        {
            return null;
        }

        var parentEnd = owner.LastIndexOf('-');
        if (parentEnd > 0)
        {
            var parent = owner[..parentEnd];
            var segment = owner[(parentEnd + 1)..];
            if (IsScheduleMinutes(segment))
            {
                return new InferredWorkload(parent, ["CronJob"], pod);
            }

            if (segment.Length is >= 6 and <= 10 && InAlphabet(segment))
            {
                return new InferredWorkload(parent, ["Deployment"], pod);
            }
        }

        // Nothing but the random part to go on: only Kubernetes' own letters count.
        return InAlphabet(tail) ? new InferredWorkload(owner, GeneratedKinds, pod) : null;
    }

    private static bool IsOrdinal(string text) =>
        text.Length is > 0 and <= 10 && text.All(char.IsAsciiDigit) && (text == "0" || text[0] != '0');

    private static bool IsScheduleMinutes(string text) =>
        text.Length == 8 && text.All(char.IsAsciiDigit) && long.Parse(text, System.Globalization.CultureInfo.InvariantCulture) is >= MinScheduleMinutes and <= MaxScheduleMinutes;

    private static bool InAlphabet(string text) => text.Length > 0 && text.All(c => Alphabet.Contains(c, StringComparison.Ordinal));

    private static bool IsLowerAlphanumeric(string text) => text.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c));
}
