using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Approvals;

/// <summary>
/// Section "Approvals": who may approve what, how many approvals a fix needs, how long a request stays valid, and which
/// low-risk fixes may run without anyone approving them. Rules are tried in order; the first whose cluster and
/// namespace patterns match decides. No matching rule means nobody can approve there.
/// </summary>
public sealed partial class ApprovalOptions : IValidatableObject
{
    public const string Section = "Approvals";

    /// <summary>The only kinds that may be named in <see cref="AutoRun"/>: they change no spec and no credentials.</summary>
    public static readonly IReadOnlySet<RemediationKind> AutoRunnable = new HashSet<RemediationKind> { RemediationKind.DeleteBackoffPods, RemediationKind.RestartWorkload };

    public List<ApprovalRuleOptions> Rules { get; set; } = [];

    /// <summary>How long a request waits for approvals before it expires.</summary>
    public TimeSpan RequestLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Remediation kinds ("delete_backoff_pods", "restart") that run without approval — only when the diagnosis' registry
    /// evidence confirms the image can be pulled now. Empty by default.
    /// </summary>
    public List<string> AutoRun { get; set; } = [];

    /// <summary>
    /// Members of groups for platforms that do not tell the bot (Teams, the web page): group "teams:oncall" with AAD
    /// object ids, "web:oncall" with local user names. Slack user groups come from Slack itself.
    /// </summary>
    public List<ApprovalGroupOptions> GroupMembers { get; set; } = [];

    /// <summary>
    /// Tries to decide one click while other writers (a double click, another replica) keep deciding the same request
    /// first; each try reads the request again and decides again (pipeline <see cref="ApprovalRetryPipelines.Decision"/>).
    /// </summary>
    [Range(1, 100, ErrorMessage = "Approvals:DecisionAttempts must be between 1 and 100.")]
    public int DecisionAttempts { get; set; } = 10;

    public ApprovalPolicy ToPolicy() => new(
        Rules.Select(r => r.ToRule()).ToList(),
        RequestLifetime,
        AutoRun.Select(ParseKind).OfType<RemediationKind>().ToHashSet());

    /// <summary>"delete_backoff_pods" or "DeleteBackoffPods" → the kind; null when it names none.</summary>
    public static RemediationKind? ParseKind(string? name)
    {
        foreach (var kind in Enum.GetValues<RemediationKind>())
        {
            if (string.Equals(name, RemediationPlan.KindName(kind), StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, kind.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                return kind;
            }
        }

        return null;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RequestLifetime < TimeSpan.FromSeconds(1) || RequestLifetime > TimeSpan.FromDays(7))
        {
            yield return new ValidationResult("Approvals:RequestLifetime must be between 1 second and 7 days (e.g. \"01:00:00\").", [nameof(RequestLifetime)]);
        }

        for (var i = 0; i < Rules.Count; i++)
        {
            foreach (var problem in Rules[i].Problems($"Approvals:Rules:{i}"))
            {
                yield return new ValidationResult(problem, [nameof(Rules)]);
            }
        }

        foreach (var name in AutoRun)
        {
            var kind = ParseKind(name);
            if (kind is null)
            {
                yield return new ValidationResult(
                    $"Approvals:AutoRun names \"{name}\", which is not a remediation kind; use {string.Join(" or ", AutoRunnable.Select(RemediationPlan.KindName))}.",
                    [nameof(AutoRun)]);
            }
            else if (!AutoRunnable.Contains(kind.Value))
            {
                yield return new ValidationResult(
                    $"Approvals:AutoRun may only name low-risk kinds ({string.Join(", ", AutoRunnable.Select(RemediationPlan.KindName))}); \"{name}\" changes what runs or which credentials are used, so it always needs approval.",
                    [nameof(AutoRun)]);
            }
        }

        for (var i = 0; i < GroupMembers.Count; i++)
        {
            var group = GroupMembers[i];
            if (!PrincipalRegex().IsMatch(group.Group) || group.Group.StartsWith("slack:", StringComparison.Ordinal))
            {
                yield return new ValidationResult(
                    $"Approvals:GroupMembers:{i}:Group is \"{group.Group}\"; write it as platform:group for Teams or the web page, e.g. \"teams:oncall\" or \"web:oncall\" (Slack groups come from Slack).",
                    [nameof(GroupMembers)]);
            }

            if (group.Members.Count == 0 || group.Members.Any(string.IsNullOrWhiteSpace))
            {
                yield return new ValidationResult($"Approvals:GroupMembers:{i}:Members must list the user ids of {group.Group} (no empty entries).", [nameof(GroupMembers)]);
            }
        }
    }

    /// <summary>"slack:U012AB3CD", "teams:&lt;aad object id&gt;", "web:alice".</summary>
    [GeneratedRegex(@"^(slack|teams|web):[^\s:][^\s]*$", RegexOptions.CultureInvariant)]
    internal static partial Regex PrincipalRegex();
}

/// <summary>Who is in a Teams or web group (Approvals:GroupMembers:N).</summary>
public sealed class ApprovalGroupOptions
{
    /// <summary>"teams:oncall", "web:oncall".</summary>
    public string Group { get; set; } = string.Empty;

    /// <summary>AAD object ids (Teams) or local user names (web).</summary>
    public List<string> Members { get; set; } = [];
}

/// <summary>One approval rule (Approvals:Rules:N).</summary>
public sealed class ApprovalRuleOptions
{
    /// <summary>Glob of cluster names ("prod-*", "*").</summary>
    public string Cluster { get; set; } = "*";

    /// <summary>Glob of namespaces ("shop", "team-*").</summary>
    public string Namespace { get; set; } = "*";

    /// <summary>"slack:U012AB3CD", "teams:&lt;aad object id&gt;", "web:alice".</summary>
    public List<string> Approvers { get; set; } = [];

    /// <summary>"slack:S0123ABCD" (Slack user groups), "teams:oncall", "web:oncall" (see Approvals:GroupMembers).</summary>
    public List<string> ApproverGroups { get; set; } = [];

    /// <summary>Approvals needed before the fix runs.</summary>
    public int Required { get; set; } = 1;

    /// <summary>Whether the person who asked may approve it (their request then counts as their approval).</summary>
    public bool AllowSelfApproval { get; set; }

    public ApprovalRule ToRule() => new(
        Cluster,
        Namespace,
        Approvers.ToHashSet(StringComparer.Ordinal),
        ApproverGroups.ToHashSet(StringComparer.Ordinal),
        Required,
        AllowSelfApproval);

    internal IEnumerable<string> Problems(string where)
    {
        if (string.IsNullOrWhiteSpace(Cluster) || string.IsNullOrWhiteSpace(Namespace))
        {
            yield return $"{where} needs Cluster and Namespace patterns (\"*\" matches everything).";
        }

        if (Required is < 1 or > 10)
        {
            yield return $"{where}:Required must be between 1 and 10.";
        }

        foreach (var approver in Approvers.Concat(ApproverGroups))
        {
            if (!ApprovalOptions.PrincipalRegex().IsMatch(approver))
            {
                yield return $"{where} names \"{approver}\"; write approvers as platform:id, e.g. \"slack:U012AB3CD\", \"teams:<aad object id>\" or \"web:alice\".";
            }
        }

        if (ApproverGroups.Count == 0 && Approvers.Count > 0 && Approvers.Count < Required)
        {
            yield return $"{where} needs {Required} approvals but names only {Approvers.Count} approver(s) and no group, so nothing it covers could ever be approved.";
        }
    }
}
