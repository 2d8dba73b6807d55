using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Remediation;

/// <summary>Section "Remediation": how approved fixes run against the cluster.</summary>
public sealed class RemediationOptions : IValidatableObject
{
    public const string Section = "Remediation";

    /// <summary>How long after the change the pods have to become Ready before the run is reported as timed out.</summary>
    public TimeSpan RolloutDeadline { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the rollout is looked at while waiting for the pods.</summary>
    public TimeSpan RolloutPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Attempts for one Kubernetes call on transient errors (5xx, 429, timeouts) and lost races (409 Conflict).</summary>
    [Range(1, 20, ErrorMessage = "Remediation:ApiAttempts must be between 1 and 20.")]
    public int ApiAttempts { get; set; } = 6;

    /// <summary>First wait before a retry; doubles each time (with jitter) up to <see cref="ApiMaxDelay"/>.</summary>
    public TimeSpan ApiBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ApiMaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a worker holds a run before another may take it over (renewed while the run is alive).</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Where refreshed registry credentials come from: per registry host, a dockerconfigjson secret the operator keeps in the
    /// bot's own namespace (or the namespace named here).
    /// </summary>
    public List<CredentialSourceOptions> CredentialSources { get; set; } = [];

    public CredentialSourceOptions? SourceFor(string registryHost) =>
        CredentialSources.FirstOrDefault(s => string.Equals(s.Registry, registryHost, StringComparison.OrdinalIgnoreCase));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RolloutDeadline < TimeSpan.FromSeconds(1) || RolloutDeadline > TimeSpan.FromHours(2))
        {
            yield return new ValidationResult("Remediation:RolloutDeadline must be between 1 second and 2 hours (e.g. \"00:05:00\").", [nameof(RolloutDeadline)]);
        }

        if (RolloutPollInterval < TimeSpan.FromMilliseconds(50) || RolloutPollInterval > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Remediation:RolloutPollInterval must be between 50 ms and 1 minute (e.g. \"00:00:02\").", [nameof(RolloutPollInterval)]);
        }

        if (ApiBaseDelay < TimeSpan.FromMilliseconds(10) || ApiMaxDelay < ApiBaseDelay || ApiMaxDelay > TimeSpan.FromMinutes(5))
        {
            yield return new ValidationResult(
                "Remediation:ApiBaseDelay must be at least 10 ms and no more than Remediation:ApiMaxDelay, which must be at most 5 minutes.",
                [nameof(ApiBaseDelay), nameof(ApiMaxDelay)]);
        }

        if (LeaseDuration < TimeSpan.FromSeconds(10) || LeaseDuration > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("Remediation:LeaseDuration must be between 10 seconds and 1 hour (e.g. \"00:02:00\").", [nameof(LeaseDuration)]);
        }

        for (var i = 0; i < CredentialSources.Count; i++)
        {
            var source = CredentialSources[i];
            if (string.IsNullOrWhiteSpace(source.Registry) || source.Registry.Contains('/', StringComparison.Ordinal) || source.Registry.Contains("://", StringComparison.Ordinal))
            {
                yield return new ValidationResult(
                    $"Remediation:CredentialSources:{i}:Registry must be a registry host as image names write it (\"ghcr.io\", \"registry.internal:5000\").",
                    [nameof(CredentialSources)]);
            }

            if (string.IsNullOrWhiteSpace(source.Secret))
            {
                yield return new ValidationResult(
                    $"Remediation:CredentialSources:{i}:Secret must name the kubernetes.io/dockerconfigjson secret that holds the credentials for {source.Registry}.",
                    [nameof(CredentialSources)]);
            }
        }

        var duplicate = CredentialSources.GroupBy(s => s.Registry, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            yield return new ValidationResult($"Remediation:CredentialSources names {duplicate.Key} more than once; keep one source per registry.", [nameof(CredentialSources)]);
        }
    }
}

/// <summary>A credential source: the secret (in the bot's namespace unless <see cref="Namespace"/> says otherwise) for one registry host.</summary>
public sealed class CredentialSourceOptions
{
    public string Registry { get; set; } = string.Empty;

    public string Secret { get; set; } = string.Empty;

    /// <summary>Empty: the bot's own namespace (in-cluster, or the kubeconfig context's).</summary>
    public string? Namespace { get; set; }
}
