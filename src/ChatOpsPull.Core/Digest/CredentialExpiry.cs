namespace ChatOpsPull.Core.Digest;

/// <summary>A registry credential in a pull secret whose expiry can be read from the credential itself.</summary>
/// <param name="Secret">"namespace/name".</param>
/// <param name="Registry">The auths key it is for ("123456789012.dkr.ecr.eu-west-1.amazonaws.com").</param>
/// <param name="Kind">"Amazon ECR token", "JWT".</param>
public sealed record CredentialExpiry(string Secret, string Registry, string Kind, DateTimeOffset ExpiresAt)
{
    public bool IsExpired(DateTimeOffset now) => ExpiresAt <= now;

    /// <summary>Expired already, or expiring within <paramref name="warning"/>; soonest first, one line per secret and registry.</summary>
    public static IReadOnlyList<CredentialExpiry> Soon(IEnumerable<CredentialExpiry> all, DateTimeOffset now, TimeSpan warning) =>
        all.Where(c => c.ExpiresAt <= now + warning)
            .DistinctBy(c => (c.Secret, c.Registry))
            .OrderBy(c => c.ExpiresAt).ThenBy(c => c.Secret, StringComparer.Ordinal)
            .ToList();
}
