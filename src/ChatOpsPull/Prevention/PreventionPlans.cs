using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Remediation;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Prevention;

/// <summary>
/// The fixes a "prevented" or "will fail" card can offer, as the same plans incident cards carry (so the same actions,
/// approvals, dry runs and observe-profile commands apply): set the tag to the nearest one the registry has, and refresh
/// a pull secret the registry refuses when a credential source is configured for the registry.
/// </summary>
public sealed class PreventionPlans(IOptionsMonitor<RemediationOptions> remediation)
{
    /// <summary>Workload kinds whose pod template a plan may change (as the remediation actions do).</summary>
    public static bool ChangesTemplate(string kind) => kind is "Deployment" or "StatefulSet" or "DaemonSet" or "CronJob";

    public IReadOnlyList<RemediationPlan> For(string @namespace, string workloadKind, string workloadName, ImageVerdict verdict, string? refusedSecret)
    {
        var plans = new List<RemediationPlan>();
        if (verdict.Image is not { } image || !ChangesTemplate(workloadKind))
        {
            return plans;
        }

        var workload = $"{workloadKind.ToLowerInvariant()}/{workloadName}";
        if (verdict.Cause == Core.Failures.PullCause.ImageNotFound)
        {
            foreach (var tag in verdict.SuggestedTags.Take(2))
            {
                var target = image with { Tag = tag, Digest = null, TagImplied = false };
                plans.Add(new RemediationPlan(
                    RemediationKind.SetImageTag, @namespace, workloadKind, workloadName, $"Set tag to {Shorten(tag)}",
                    $"Sets container `{verdict.Container.Container}` of {workload} to `{target.FamiliarString}`, which the registry confirmed exists.",
                    RemediationRisk.Medium,
                    new Dictionary<string, string>(StringComparer.Ordinal) { ["container"] = verdict.Container.Container, ["image"] = target.ToString() }));
            }
        }

        if (refusedSecret is not null && remediation.CurrentValue.SourceFor(image.Domain) is not null)
        {
            var name = refusedSecret.Contains('/', StringComparison.Ordinal) ? refusedSecret[(refusedSecret.IndexOf('/', StringComparison.Ordinal) + 1)..] : refusedSecret;
            plans.Add(new RemediationPlan(
                RemediationKind.RefreshCredentials, @namespace, workloadKind, workloadName, $"Refresh pull secret {Shorten(name)}",
                $"Writes `{name}` (kubernetes.io/dockerconfigjson) for {image.Domain} from the configured credential source, checked against the registry before and after.",
                RemediationRisk.Medium,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["registry"] = image.Domain, ["secret"] = name }));
        }

        return plans;
    }

    private static string Shorten(string text) => text.Length <= 50 ? text : text[..49] + "…";
}
