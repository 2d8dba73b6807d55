using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Chat.Cards;

/// <summary>What a button asks for. The card carries only this verb and ids; the server re-checks everything.</summary>
public enum CardVerb
{
    /// <summary>Ask to run a remediation: Target = incident id, Argument = remediation plan key.</summary>
    Request,

    /// <summary>Approve an approval request: Target = approval id.</summary>
    Approve,

    /// <summary>Deny an approval request: Target = approval id.</summary>
    Deny,

    /// <summary>Run the diagnosis again: Target = incident id.</summary>
    Rediagnose,

    /// <summary>Snooze the incident: Target = incident id, Argument = duration ("1h").</summary>
    Snooze,

    /// <summary>Mute the incident's image: Target = incident id.</summary>
    MuteImage,

    /// <summary>
    /// Ask to run a pod-template change on a workload another tool owns (Argo CD, Flux, Helm, an operator), confirming
    /// that it will be undone or drift: Target = incident id, Argument = remediation plan key. The button shows the
    /// platform's confirmation first; the server still applies Approvals:ManagedWorkloads.
    /// </summary>
    RequestAnyway,
}

/// <summary>
/// The value a button carries, as one short string: "approve|apr-7c1d2e" or "request|inc-4f2a9c|set_tag:container=api,tag=1.4.2".
/// Parsing is strict: anything else is rejected before any lookup happens.
/// </summary>
public sealed partial record CardActionPayload(CardVerb Verb, string Target, string? Argument = null)
{
    public const int MaxLength = 1900;

    public override string ToString() =>
        VerbName(Verb) + "|" + Target + (Argument is null ? string.Empty : "|" + Argument);

    public static bool TryParse(string? value, [NotNullWhen(true)] out CardActionPayload? payload)
    {
        payload = null;
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return false;
        }

        var parts = value.Split('|');
        if (parts.Length is < 2 or > 3 || !TryParseVerb(parts[0], out var verb) || !IdRegex().IsMatch(parts[1]))
        {
            return false;
        }

        string? argument = null;
        if (parts.Length == 3)
        {
            if (!ArgumentRegex().IsMatch(parts[2]))
            {
                return false;
            }

            argument = parts[2];
        }

        payload = new CardActionPayload(verb, parts[1], argument);
        return true;
    }

    public static string VerbName(CardVerb verb) => verb switch
    {
        CardVerb.Request => "request",
        CardVerb.Approve => "approve",
        CardVerb.Deny => "deny",
        CardVerb.Rediagnose => "rediagnose",
        CardVerb.Snooze => "snooze",
        CardVerb.MuteImage => "mute_image",
        CardVerb.RequestAnyway => "request_anyway",
        _ => throw new ArgumentOutOfRangeException(nameof(verb), verb, "not a card verb"),
    };

    private static bool TryParseVerb(string name, out CardVerb verb)
    {
        foreach (var candidate in Enum.GetValues<CardVerb>())
        {
            if (VerbName(candidate) == name)
            {
                verb = candidate;
                return true;
            }
        }

        verb = default;
        return false;
    }

    /// <summary>Ids are short and plain: "inc-4f2a9c", "apr-7c1d2e".</summary>
    [GeneratedRegex("^[a-z]{2,8}-[a-z0-9]{4,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdRegex();

    /// <summary>Plan keys and durations: letters, digits and = , : . _ / @ -</summary>
    [GeneratedRegex("^[A-Za-z0-9=,:._/@+-]{1,1500}$", RegexOptions.CultureInvariant)]
    private static partial Regex ArgumentRegex();
}
