using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Chat.Commands;

/// <summary>The words people type after /pullbot (or @pullbot in Teams), parsed and validated.</summary>
public abstract record ChatCommand
{
    /// <param name="ClusterGlob">Only clusters matching this glob (<c>--cluster prod-*</c>); null for all.</param>
    public sealed record Status(string? Namespace, string? ClusterGlob = null) : ChatCommand;

    /// <param name="Cluster">The cluster written before the namespace, or null when not written.</param>
    public sealed record Diagnose(string Namespace, string Pod, string? Cluster = null) : ChatCommand;

    public sealed record Check(ImageReference Image) : ChatCommand;

    /// <param name="WorkloadKind">"Deployment" when not written.</param>
    /// <param name="Cluster">The cluster written before the namespace, or null when not written.</param>
    /// <param name="Anyway">"retry ns/workload anyway": the asker confirms changing a workload another tool owns (Argo CD, Flux, Helm).</param>
    public sealed record Retry(string Namespace, string WorkloadKind, string WorkloadName, string? Cluster = null, bool Anyway = false) : ChatCommand;

    public sealed record Snooze(string IncidentId, TimeSpan Duration) : ChatCommand;

    public sealed record Digest : ChatCommand;

    /// <param name="Problem">Why help is shown: null when asked for, else what was wrong with the input.</param>
    public sealed record Help(string? Problem) : ChatCommand;
}

public static partial class ChatCommandParser
{
    public static readonly TimeSpan MaxSnooze = TimeSpan.FromDays(7);

    /// <summary>The answer to <c>help</c>: every command of <see cref="ChatCommandCatalog"/>, usage in code spans.</summary>
    public static string HelpText { get; } =
        "*/pullbot* commands:\n" + string.Join('\n', ChatCommandCatalog.All.Select(c => $"• `{c.Usage}` — {c.Description}"));

    private static readonly string[] WorkloadKinds = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet"];

    public static ChatCommand Parse(string? text)
    {
        var words = (text ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 0)
        {
            return new ChatCommand.Help(null);
        }

        var verb = words[0].ToLowerInvariant();
        var rest = words[1..];
        return verb switch
        {
            "help" or "?" => new ChatCommand.Help(null),
            "status" => ParseStatus(rest),
            "diagnose" => ParseDiagnose(rest),
            "check" => ParseCheck(rest),
            "retry" => ParseRetry(rest),
            "snooze" => ParseSnooze(rest),
            "digest" => rest.Length == 0 ? new ChatCommand.Digest() : Usage("`digest` takes no arguments."),
            _ => Usage($"I don't know `{Shorten(words[0])}`."),
        };
    }

    /// <summary><c>status [namespace] [--cluster GLOB]</c>, in either order.</summary>
    private static ChatCommand ParseStatus(string[] rest)
    {
        string? @namespace = null;
        string? glob = null;
        for (var i = 0; i < rest.Length; i++)
        {
            var word = rest[i];
            if (word.StartsWith("--cluster", StringComparison.Ordinal))
            {
                var value = word.Length > "--cluster".Length && word["--cluster".Length] == '='
                    ? word["--cluster=".Length..]
                    : word == "--cluster" && i + 1 < rest.Length ? rest[++i] : null;
                if (glob is not null || value is null || !ClusterGlob().IsMatch(value))
                {
                    return Usage("`--cluster` takes one cluster name or glob (letters, digits, '.', '_', '-', '*', '?'), e.g. `status --cluster prod-*`.");
                }

                glob = value;
            }
            else if (@namespace is null && IsName(word))
            {
                @namespace = word;
            }
            else
            {
                return Usage("`status` takes at most one namespace name and `--cluster GLOB`.");
            }
        }

        return new ChatCommand.Status(@namespace, glob);
    }

    /// <summary><c>diagnose [cluster/]namespace/pod</c>.</summary>
    private static ChatCommand ParseDiagnose(string[] rest)
    {
        const string usage = "`diagnose` needs `[cluster/]<namespace>/<pod>`, e.g. `diagnose shop/api-7d9c-x2x4p` or `diagnose prod-eu/shop/api-7d9c-x2x4p`.";
        if (rest.Length != 1)
        {
            return Usage(usage);
        }

        var parts = rest[0].Split('/');
        return parts.Length switch
        {
            2 when IsName(parts[0]) && IsName(parts[1]) => new ChatCommand.Diagnose(parts[0], parts[1]),
            3 when IsClusterName(parts[0]) && IsName(parts[1]) && IsName(parts[2]) && !IsWorkloadKind(parts[1]) => new ChatCommand.Diagnose(parts[1], parts[2], parts[0]),
            _ => Usage(usage),
        };
    }

    /// <summary>
    /// <c>retry [cluster/]namespace/[kind/]workload</c>: three parts are namespace/kind/name when the middle one is a
    /// workload kind, cluster/namespace/name otherwise; four are cluster/namespace/kind/name.
    /// </summary>
    private static ChatCommand ParseRetry(string[] rest)
    {
        var anyway = rest.Length == 2 && string.Equals(rest[1], "anyway", StringComparison.OrdinalIgnoreCase);
        if (rest.Length != 1 && !anyway)
        {
            return Usage("`retry` needs `[cluster/]<namespace>/<workload>`, e.g. `retry shop/api`, `retry shop/statefulset/db` or `retry prod-eu/shop/api` (add `anyway` to confirm a workload Argo CD, Flux or Helm owns).");
        }

        var parts = rest[0].Split('/');
        string? cluster = null;
        if (parts.Length == 4 || (parts.Length == 3 && !IsWorkloadKind(parts[1])))
        {
            if (!IsClusterName(parts[0]))
            {
                return Usage($"`{Shorten(rest[0])}` is not `<namespace>/<name>` (or `<cluster>/<namespace>/<name>`): `{Shorten(parts[0])}` is not a cluster name (letters, digits, '.', '_' or '-', at most 63).");
            }

            cluster = parts[0];
            parts = parts[1..];
        }

        return TrySplitPath(string.Join('/', parts), out var @namespace, out var workload, out var problem)
            ? new ChatCommand.Retry(@namespace, workload.Kind ?? "Deployment", workload.Name, cluster, anyway)
            : Usage(problem);
    }

    private static bool IsWorkloadKind(string text) => Array.Exists(WorkloadKinds, k => string.Equals(k, text, StringComparison.OrdinalIgnoreCase));

    /// <summary>A cluster name as Bot:Cluster allows it.</summary>
    public static bool IsClusterName(string text) => ClusterName().IsMatch(text);

    private static ChatCommand ParseCheck(string[] rest)
    {
        if (rest.Length != 1)
        {
            return Usage("`check` needs one image, e.g. `check ghcr.io/org/app:1.2.3`.");
        }

        // Slack wraps things that look like links in <…>; take what is inside.
        var raw = rest[0].Trim('<', '>');
        var pipe = raw.IndexOf('|', StringComparison.Ordinal);
        if (pipe >= 0)
        {
            raw = raw[(pipe + 1)..];
        }

        return ImageReference.TryParse(raw, out var image, out var error)
            ? new ChatCommand.Check(image)
            : Usage($"`{Shorten(raw)}` is not an image reference: {error}.");
    }

    private static ChatCommand ParseSnooze(string[] rest)
    {
        if (rest.Length != 2 || !IncidentId().IsMatch(rest[0]))
        {
            return Usage("`snooze` needs an incident id and a duration, e.g. `snooze inc-4f2a9c 2h`.");
        }

        if (!TryParseDuration(rest[1], out var duration))
        {
            return Usage($"`{Shorten(rest[1])}` is not a duration: use forms like `30m`, `2h`, `1h30m`, `1d`.");
        }

        if (duration > MaxSnooze)
        {
            return Usage("Snoozes last at most 7 days. Mute the image from the card to silence it for longer.");
        }

        return new ChatCommand.Snooze(rest[0], duration);
    }

    /// <summary>"90s", "30m", "2h", "1h30m", "1d": positive, whole units.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = Duration().Match(text);
        if (!match.Success || match.Length == 0)
        {
            return false;
        }

        foreach (Capture capture in match.Groups["part"].Captures)
        {
            var value = capture.Value;
            if (!long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount > 100_000)
            {
                return false;
            }

            duration += value[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => TimeSpan.Zero,
            };
        }

        return duration > TimeSpan.Zero;
    }

    private static bool TrySplitPath(string text, out string @namespace, out (string? Kind, string Name) target, [NotNullWhen(false)] out string? problem)
    {
        @namespace = string.Empty;
        target = (null, string.Empty);
        problem = null;
        var parts = text.Split('/');
        if (parts.Length is < 2 or > 3 || !parts.All(IsName))
        {
            problem = $"`{Shorten(text)}` is not `<namespace>/<name>` with Kubernetes names (lowercase letters, digits, '-', '.').";
            return false;
        }

        @namespace = parts[0];
        if (parts.Length == 3)
        {
            var kind = Array.Find(WorkloadKinds, k => string.Equals(k, parts[1], StringComparison.OrdinalIgnoreCase));
            if (kind is null)
            {
                problem = $"`{Shorten(parts[1])}` is not a workload kind ({string.Join(", ", WorkloadKinds).ToLowerInvariant()}).";
                return false;
            }

            target = (kind, parts[2]);
        }
        else
        {
            target = (null, parts[1]);
        }

        return true;
    }

    private static bool IsName(string text) => text.Length is > 0 and <= 253 && KubernetesName().IsMatch(text);

    private static ChatCommand.Help Usage(string problem) => new(problem);

    /// <summary>Echoes user input back safely: short, no backticks or control characters.</summary>
    private static string Shorten(string text)
    {
        var clean = new string(text.Where(c => !char.IsControl(c) && c != '`').Take(60).ToArray());
        return text.Length > 60 ? clean + "…" : clean;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClusterName();

    [GeneratedRegex("^[A-Za-z0-9._*?-]{1,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClusterGlob();

    [GeneratedRegex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex KubernetesName();

    [GeneratedRegex("^[a-z]{2,8}-[a-z0-9]{4,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex IncidentId();

    [GeneratedRegex("^(?<part>[0-9]{1,6}[smhd])+$", RegexOptions.CultureInvariant)]
    private static partial Regex Duration();
}
