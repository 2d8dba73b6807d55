using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Chat.Commands;

/// <summary>The words people type after /pullbot (or @pullbot in Teams), parsed and validated.</summary>
public abstract record ChatCommand
{
    public sealed record Status(string? Namespace) : ChatCommand;

    public sealed record Diagnose(string Namespace, string Pod) : ChatCommand;

    public sealed record Check(ImageReference Image) : ChatCommand;

    /// <param name="WorkloadKind">"Deployment" when not written.</param>
    /// <param name="Anyway">"retry ns/workload anyway": the asker confirms changing a workload another tool owns (Argo CD, Flux, Helm).</param>
    public sealed record Retry(string Namespace, string WorkloadKind, string WorkloadName, bool Anyway = false) : ChatCommand;

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
            "status" => rest.Length switch
            {
                0 => new ChatCommand.Status(null),
                1 when IsName(rest[0]) => new ChatCommand.Status(rest[0]),
                _ => Usage("`status` takes at most one namespace name."),
            },
            "diagnose" => rest.Length == 1 && rest[0].Count(c => c == '/') == 1 && TrySplitPath(rest[0], out var ns, out var pod, out _)
                ? new ChatCommand.Diagnose(ns, pod.Name)
                : Usage("`diagnose` needs `<namespace>/<pod>`, e.g. `diagnose shop/api-7d9c-x2x4p`."),
            "check" => ParseCheck(rest),
            "retry" => ParseRetry(rest),
            "snooze" => ParseSnooze(rest),
            "digest" => rest.Length == 0 ? new ChatCommand.Digest() : Usage("`digest` takes no arguments."),
            _ => Usage($"I don't know `{Shorten(words[0])}`."),
        };
    }

    private static ChatCommand ParseRetry(string[] rest)
    {
        var anyway = rest.Length == 2 && string.Equals(rest[1], "anyway", StringComparison.OrdinalIgnoreCase);
        if (rest.Length != 1 && !anyway)
        {
            return Usage("`retry` needs `<namespace>/<workload>`, e.g. `retry shop/api` or `retry shop/statefulset/db` (add `anyway` to confirm a workload Argo CD, Flux or Helm owns).");
        }

        return TrySplitPath(rest[0], out var @namespace, out var workload, out var problem)
            ? new ChatCommand.Retry(@namespace, workload.Kind ?? "Deployment", workload.Name, anyway)
            : Usage(problem);
    }

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

    [GeneratedRegex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex KubernetesName();

    [GeneratedRegex("^[a-z]{2,8}-[a-z0-9]{4,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex IncidentId();

    [GeneratedRegex("^(?<part>[0-9]{1,6}[smhd])+$", RegexOptions.CultureInvariant)]
    private static partial Regex Duration();
}
