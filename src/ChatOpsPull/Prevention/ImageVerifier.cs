using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Core.Prevention;
using ChatOpsPull.Registry;
using k8s.Models;

namespace ChatOpsPull.Prevention;

/// <summary>What checking one container's image found.</summary>
public enum ImageVerdictKind
{
    /// <summary>The registry serves it to the pod's credentials (for the platforms the pod is pinned to).</summary>
    Pullable,

    /// <summary>A pull would fail: no such tag or repository, credentials refused, no variant for the platform, a bad name.</summary>
    WillFail,

    /// <summary>The bot cannot tell from here: a node credential provider's registry, the registry unreachable or slow, secrets it may not read.</summary>
    Unverified,
}

/// <summary>The verdict on one container's image, in words for warnings, denials and cards.</summary>
/// <param name="Summary">One line: "image shop/web:1.4.3 does not exist in registry.example.com; nearest tag 1.4.2".</param>
/// <param name="Fix">What to do, as an imperative ("set the tag to 1.4.2"); null when there is nothing to do.</param>
/// <param name="Check">The registry check behind it (absent when none was made).</param>
public sealed record ImageVerdict(
    ContainerImage Container,
    ImageVerdictKind Kind,
    PullCause? Cause,
    string Summary,
    string? Fix,
    IReadOnlyList<string> SuggestedTags,
    IReadOnlyList<Evidence> Evidence)
{
    public KubeletPullCheck? Check { get; init; }

    public ImageReference? Image { get; init; }

    /// <summary>Unverified because kubelet may use credentials the bot cannot see (a node credential provider).</summary>
    public bool FromHere { get; init; }
}

/// <summary>The pull secrets a pod would get, as kubelet would use them, and how sure that is.</summary>
/// <param name="Names">The names kubelet would try: the spec's imagePullSecrets, or the ServiceAccount's when it names none.</param>
/// <param name="Secrets">Those that exist and could be read.</param>
/// <param name="Missing">Named but absent (kubelet skips them and pulls without).</param>
/// <param name="Unknown">Why the pod's credentials cannot be known (the bot may not read a secret or the ServiceAccount), or null.</param>
public sealed record EffectivePullSecrets(IReadOnlyList<string> Names, IReadOnlyList<V1Secret> Secrets, IReadOnlyList<string> Missing, string? Unknown);

/// <summary>
/// Checks the images of one pod spec the way its pods would pull them: the effective pull secrets as kubelet resolves them
/// (<see cref="PullSecretResolver"/> through <see cref="RegistryChecker.CheckWithPullSecretsAsync"/>, which shares checks
/// in flight and caches answers), for each platform the spec pins the pod to. Shared by the admission check and the sweep.
/// Registries that kubelet usually reaches with a node credential provider (ECR, GCR/Artifact Registry, ACR) and no pull
/// secret are "cannot verify from here", never a failure; so are an unreachable, failing or rate-limiting registry and
/// credentials the bot may not read. Cancelling stops waiting (the caller's budget), not the shared checks.
/// </summary>
public sealed class ImageVerifier(RegistryChecker checker, PullSecretResolver resolver, ClusterLookups lookups)
{
    /// <summary>Reads the pull secrets a pod of <paramref name="template"/> in <paramref name="namespace"/> would get.</summary>
    public async Task<EffectivePullSecrets> PullSecretsAsync(string @namespace, PodTemplate template, CancellationToken cancellationToken)
    {
        var names = template.PullSecrets.ToList();
        string? unknown = null;
        if (names.Count == 0)
        {
            var account = await lookups.ServiceAccountPullSecretsAsync(@namespace, template.ServiceAccount, cancellationToken).ConfigureAwait(false);
            switch (account.Outcome)
            {
                case LookupOutcome.Found:
                    names.AddRange(account.Value!);
                    break;
                case LookupOutcome.Missing:
                    break; // admission refuses a pod whose ServiceAccount does not exist; nothing to add here
                case LookupOutcome.Forbidden or LookupOutcome.Failed:
                    unknown = $"ServiceAccount {@namespace}/{template.ServiceAccount} could not be read ({account.Problem})";
                    break;
                default:
                    throw new InvalidOperationException($"unknown lookup outcome {account.Outcome}");
            }
        }

        var reads = await Task.WhenAll(names.Select(n => lookups.SecretAsync(@namespace, n, cancellationToken))).ConfigureAwait(false);
        var secrets = new List<V1Secret>();
        var missing = new List<string>();
        for (var i = 0; i < names.Count; i++)
        {
            switch (reads[i].Outcome)
            {
                case LookupOutcome.Found:
                    secrets.Add(reads[i].Value!);
                    break;
                case LookupOutcome.Missing:
                    missing.Add(names[i]);
                    break;
                case LookupOutcome.Forbidden or LookupOutcome.Failed:
                    unknown ??= $"pull secret {@namespace}/{names[i]} could not be read ({reads[i].Problem})";
                    break;
                default:
                    throw new InvalidOperationException($"unknown lookup outcome {reads[i].Outcome}");
            }
        }

        return new EffectivePullSecrets(names, secrets, missing, unknown);
    }

    /// <summary>
    /// The verdict on one container's image. Throws <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellationToken"/> ends first (the caller says "could not verify in time").
    /// </summary>
    public async Task<ImageVerdict> VerifyAsync(string @namespace, PodTemplate template, ContainerImage container, EffectivePullSecrets secrets, CancellationToken cancellationToken)
    {
        if (!ImageReference.TryParse(container.Image, out var image, out var error))
        {
            return new ImageVerdict(container, ImageVerdictKind.WillFail, PullCause.InvalidName,
                $"image \"{AdmissionWarnings.ShortImage(container.Image)}\" is not a valid reference ({error})", "fix the image name",
                [], [new Evidence("image reference", EvidenceOutcome.Failed, error)]);
        }

        var familiar = image.FamiliarString;
        var resolution = resolver.Resolve(image, secrets.Secrets);
        var provider = CredentialProviderHosts.ProviderFor(image.Domain);
        if (provider is not null && resolution.Matches.Count == 0)
        {
            return Unverified(container, image,
                $"image {familiar}: no pull secret for {image.Domain}; kubelet may pull it with the node's {provider} credential provider, which the bot cannot see (cannot verify from here)") with { FromHere = true };
        }

        var platforms = template.Platforms.Count == 0 ? [null] : template.Platforms.Cast<Platform?>().ToList();
        KubeletPullCheck? check = null;
        Platform? failedOn = null;
        foreach (var platform in platforms)
        {
            check = await checker.CheckWithPullSecretsAsync(image, secrets.Secrets, platform, cancellationToken).ConfigureAwait(false);
            if (!check.Pullable)
            {
                failedOn = platform;
                break;
            }
        }

        var outcome = check!.Outcome;
        if (check.Pullable)
        {
            return new ImageVerdict(container, ImageVerdictKind.Pullable, null, $"image {familiar} can be pulled", null, [], check.AllEvidence) { Check = check, Image = image };
        }

        var cause = outcome.Cause!.Value;
        if (cause is PullCause.AuthFailed or PullCause.AccessDenied && (provider is not null || secrets.Unknown is not null))
        {
            var why = provider is not null
                ? $"{image.Domain} refuses the pod's pull secret, but kubelet may still pull with the node's {provider} credential provider"
                : $"{image.Domain} refuses the credentials the bot found, but {secrets.Unknown}";
            return Unverified(container, image, $"image {familiar}: {why} (cannot verify from here)") with { Check = check, Evidence = check.AllEvidence, FromHere = provider is not null };
        }

        var suggested = outcome.SuggestedTags.Select(t => t.Tag).ToList();
        var shown = Shown(image);
        var (summary, fix) = cause switch
        {
            PullCause.ImageNotFound when outcome.RepositoryExists == false =>
                ($"repository {AdmissionWarnings.ShortImage(image.Path)} does not exist in {image.Domain}", "push the image there or fix its name"),
            PullCause.ImageNotFound => (
                $"image {shown} does not exist in {image.Domain}" + (suggested.Count > 0 ? $"; nearest tag {suggested[0]}" : string.Empty),
                suggested.Count > 0 ? $"set the tag to {suggested[0]}" : "push the tag or pick one the registry has"),
            PullCause.AuthFailed or PullCause.AccessDenied when resolution.Matches.Count == 0 && secrets.Missing.Count > 0 => (
                $"{image.Domain} refuses {shown} without credentials, and pull secret {secrets.Missing[0]} does not exist in {@namespace}",
                $"create pull secret {secrets.Missing[0]} in {@namespace}"),
            PullCause.AuthFailed or PullCause.AccessDenied when resolution.Matches.Count == 0 => (
                $"{image.Domain} refuses {shown} without credentials and no pull secret of the pod is for {image.Domain}",
                $"add a pull secret for {image.Domain} to the pod or its ServiceAccount {template.ServiceAccount}"),
            PullCause.AuthFailed => (
                $"{image.Domain} refuses the credentials in {Secret(resolution)} for {shown}" + Expiry(check),
                $"refresh pull secret {resolution.Matches[0].SecretName}"),
            PullCause.AccessDenied => (
                $"{image.Domain} denies {Secret(resolution)} access to {shown} (private, or no such repository)",
                "grant that user access, or use a secret that has it"),
            PullCause.PlatformMismatch => (
                $"image {shown} has no variant for {failedOn} (it has {Platforms(outcome)})",
                $"build it for {failedOn} or change the node selector"),
            _ => (string.Empty, null),
        };
        if (summary.Length == 0)
        {
            // Network, TLS, rate limits, server errors: the registry did not say no; the bot could not ask.
            return Unverified(container, image, $"image {familiar} not verified: {outcome.Summary}") with { Check = check, Evidence = check.AllEvidence };
        }

        return new ImageVerdict(container, ImageVerdictKind.WillFail, cause, summary, fix, suggested, check.AllEvidence) { Check = check, Image = image };
    }

    /// <summary>"could not verify in time" for a container whose check did not finish within the caller's budget.</summary>
    public static ImageVerdict NotInTime(ContainerImage container, TimeSpan budget) =>
        new(container, ImageVerdictKind.Unverified, null,
            $"image {AdmissionWarnings.ShortImage(container.Image)} not verified: the registry did not answer within {budget.TotalSeconds:0.#} s (could not verify in time)",
            null, [], [new Evidence("registry check", EvidenceOutcome.Skipped, $"not finished within {budget.TotalSeconds:0.#} s")]);

    private static ImageVerdict Unverified(ContainerImage container, ImageReference image, string summary) =>
        new(container, ImageVerdictKind.Unverified, null, summary, null, [], [new Evidence("registry check", EvidenceOutcome.Skipped, summary)]) { Image = image };

    /// <summary>"shop/web:1.4.3": the image without its registry, as people name it in a sentence that names the registry too.</summary>
    private static string Shown(ImageReference image) =>
        AdmissionWarnings.ShortImage(image.Path + (image.Tag is null ? string.Empty : ":" + image.Tag) + (image.Digest is null ? string.Empty : "@" + image.Digest));

    private static string Secret(PullSecretResolution resolution) =>
        resolution.Matches.Count == 0 ? "anonymous pulls" : $"secret {resolution.Matches[0].SecretName}";

    private static string Expiry(KubeletPullCheck check) =>
        check.Outcome.CredentialLifetime is { ExpiresAt: { } at } lifetime && at <= check.Outcome.CheckedAt
            ? $" ({lifetime.Kind} expired {CredentialLifetime.Span(check.Outcome.CheckedAt - at)} ago)"
            : string.Empty;

    private static string Platforms(RegistryCheck check) =>
        check.Platforms.Count == 0 ? "none readable" : string.Join(", ", check.Platforms.Take(6));
}
