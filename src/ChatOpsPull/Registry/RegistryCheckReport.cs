using System.Globalization;
using System.Net.Sockets;
using System.Security.Authentication;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Registry;

/// <summary>How one image check was answered when its credentials were refused or access was denied, asked again anonymously.</summary>
internal enum AnonymousResult
{
    Unknown,
    Pullable,
    NotFound,
    Denied,
}

/// <summary>
/// The words of one registry check: every evidence line a card or CLI line shows, and every conclusion (cause,
/// confidence, summary). <see cref="RegistryCheckFlow"/> decides what happened and calls one method per finding; this
/// class only records and says it, and collects what the final <see cref="RegistryCheck"/> carries (digest, platforms,
/// suggested tags, rate limit, whether the repository exists). Never a secret: credentials appear only through
/// <see cref="RegistryCredentials.ToString"/>.
/// </summary>
internal sealed class RegistryCheckReport(ImageReference image, RegistryCredentials? credentials, TimeProvider time)
{
    private readonly List<Evidence> _evidence = [];
    private readonly long _started = time.GetTimestamp();
    private RateLimitHeadroom? _rateLimit;
    private string? _digest;
    private string? _mediaType;
    private IReadOnlyList<Platform> _platforms = [];
    private IReadOnlyList<TagSuggestion> _suggestions = [];
    private bool? _repositoryExists;

    private DateTimeOffset Now => time.GetUtcNow();

    public RegistryCheck Conclude(PullCause? cause, double confidence, string summary) =>
        new(image, cause, cause is null ? 1.0 : confidence, summary, _evidence.ToList())
        {
            Digest = _digest,
            MediaType = _mediaType,
            Platforms = _platforms,
            SuggestedTags = _suggestions,
            RateLimit = _rateLimit,
            CredentialLifetime = credentials?.Lifetime,
            Credentials = credentials?.ToString() ?? "anonymous",
            RepositoryExists = _repositoryExists,
            CheckedAt = Now,
            Duration = time.GetElapsedTime(_started),
        };

    // ── before the registry is asked ─────────────────────────────────────────────────────────────────────────────

    public void Credentials()
    {
        if (credentials is null)
        {
            _evidence.Add(new Evidence("credentials", EvidenceOutcome.Info, "none: pulling anonymously"));
            return;
        }

        _evidence.Add(new Evidence("credentials", EvidenceOutcome.Info, credentials.ToString()));
        if (credentials.Lifetime is { } lifetime)
        {
            var outcome = lifetime.IsExpired(Now) ? EvidenceOutcome.Failed : EvidenceOutcome.Info;
            _evidence.Add(new Evidence("credential expiry", outcome, lifetime.Describe(Now)));
        }
    }

    public void Network(ProbeReport probe) => _evidence.AddRange(probe.Evidence);

    public RegistryCheck Unreachable(ProbeReport probe, PullCause cause) =>
        Conclude(cause, 0.9, probe.Summary ?? "the registry cannot be reached");

    // ── places the bot does not go (RegistryDestinations): no cause of the registry's own, the runtime's message decides ──

    /// <summary>The registry host itself is refused; the probe's evidence says which name or address and why.</summary>
    public RegistryCheck NotContacted(ProbeReport probe) =>
        Conclude(PullCause.Unknown, 0.3, probe.Summary ?? "the bot did not contact the registry");

    /// <summary>The registry's token realm points where the bot does not go; the "token service" line says where and why.</summary>
    public RegistryCheck RealmRefused(RegistryAuthorization authorization) =>
        Conclude(PullCause.Unknown, 0.3, $"the bot did not follow {image.Domain}'s token realm: {authorization.Refusal?.ToString() ?? authorization.Detail}");

    /// <summary>A request for the registry (a redirect, or its own address after DNS changed) was refused before anything was sent.</summary>
    public RegistryCheck RequestRefused(RefusedDestination refused)
    {
        _evidence.Add(new Evidence("registry request", EvidenceOutcome.Failed, $"not sent: {refused}"));
        return Conclude(PullCause.Unknown, 0.3, $"the bot did not follow {image.Domain} to {refused.Target}: {refused.Why}");
    }

    public RegistryCheck CheckTimedOut(TimeSpan checkTimeout) =>
        Conclude(PullCause.Network, 0.6, $"the check of {image.FamiliarString} did not finish within {checkTimeout.TotalSeconds:0} s; the registry is too slow or unreachable");

    public RegistryCheck RequestTimedOut(RegistryEndpoint endpoint, TimeSpan requestTimeout)
    {
        _evidence.Add(new Evidence("registry request", EvidenceOutcome.Failed, $"no answer within {requestTimeout.TotalSeconds:0} s"));
        return Conclude(PullCause.Network, 0.7, $"{endpoint.Authority} accepted the connection but did not answer within {requestTimeout.TotalSeconds:0} s");
    }

    public RegistryCheck TlsOnPlainPort(Evidence tls)
    {
        _evidence.Add(tls);
        return Conclude(PullCause.Tls, 0.95, tls.Detail);
    }

    public RegistryCheck TransportFailed(RegistryEndpoint endpoint, HttpRequestException e)
    {
        var (cause, detail) = e.InnerException switch
        {
            AuthenticationException auth => (PullCause.Tls, $"TLS failed during the request: {RegistryText.Line(auth.Message)}"),
            SocketException socket => (PullCause.Network, $"connection failed during the request: {RegistryText.Line(socket.Message)}"),
            _ when e.HttpRequestError is HttpRequestError.NameResolutionError => (PullCause.Network, $"name resolution failed: {RegistryText.Line(e.Message)}"),
            _ when e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.ProxyTunnelError => (PullCause.Network, $"connection failed: {RegistryText.Line(e.Message)}"),
            _ when e.HttpRequestError is HttpRequestError.SecureConnectionError => (PullCause.Tls, $"TLS failed: {RegistryText.Line(e.Message)}"),
            _ => (PullCause.RegistryError, $"the exchange with the registry failed: {RegistryText.Line(e.Message)}"),
        };
        _evidence.Add(new Evidence("registry request", EvidenceOutcome.Failed, detail));
        return Conclude(cause, 0.8, $"{endpoint.Authority}: {detail}");
    }

    // ── answers that mean the same wherever they come ────────────────────────────────────────────────────────────

    /// <summary>Keeps the latest rate-limit headroom a response reported, as one "rate limit" line.</summary>
    public void RateLimit(RegistryAnswer answer)
    {
        if (answer.RateLimit is not { } headroom)
        {
            return;
        }

        _rateLimit = headroom;
        var line = new Evidence("rate limit", headroom.Remaining > 0 ? EvidenceOutcome.Info : EvidenceOutcome.Failed, headroom.ToString());
        var index = _evidence.FindIndex(ev => ev.Check == "rate limit");
        if (index < 0)
        {
            _evidence.Add(line);
        }
        else
        {
            _evidence[index] = line;
        }
    }

    public RegistryCheck RateLimited(RegistryAnswer answer, string check)
    {
        _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));
        return Conclude(PullCause.RateLimited, 0.95, RateLimitSummary(answer));
    }

    public RegistryCheck ServerError(RegistryAnswer answer, string check)
    {
        _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));
        return Conclude(PullCause.RegistryError, 0.9, $"{image.Domain} answered with a server error: {answer.Describe()}");
    }

    // ── the API root and authorization ───────────────────────────────────────────────────────────────────────────

    public const string ApiRootCheck = "registry API /v2/";

    public void NotRegistry(RegistryPing ping) =>
        _evidence.Add(new Evidence(ApiRootCheck, EvidenceOutcome.Failed, $"{ping.Answer.Describe()}: {ping.BodySnippet}", ping.Answer.Duration));

    public RegistryCheck NoRegistryApi(RegistryEndpoint endpoint, RegistryPing ping) =>
        Conclude(PullCause.RegistryError, 0.8, $"{endpoint.Authority} does not serve the registry API at /v2/ ({ping.Answer.Describe()})");

    /// <param name="reusedWithin">The reuse window when the answer was given to an earlier check (<see cref="RegistrySharedAnswers"/>); null when asked by this check.</param>
    public void ApiRoot(RegistryPing ping, TimeSpan? reusedWithin = null)
    {
        var detail = ping.Answer.Code == 200 ? "200: the API root asks for no authentication" : $"401: wants {Challenges(ping.Answer)}";
        if (reusedWithin is { } window)
        {
            // How old as the window's bound: text that differed on every check would make an unchanged finding look changed.
            detail += RegistryReuseNote.Suffix("answered to an earlier check", window);
        }

        _evidence.Add(new Evidence(ApiRootCheck, ping.Answer.Code == 200 ? EvidenceOutcome.Passed : EvidenceOutcome.Info, detail, ping.Answer.Duration));
    }

    /// <summary>/v2/ was open but the repository's manifest asks for authorization of its own.</summary>
    public void ManifestChallenge(RegistryAnswer answer) =>
        _evidence.Add(new Evidence($"manifest {image.Path}", EvidenceOutcome.Info, $"401: wants {Challenges(answer)}", answer.Duration));

    public void Authorization(RegistryAuthorization authorization)
    {
        if (authorization.Outcome == AuthorizationOutcome.NotNeeded)
        {
            return;
        }

        var outcome = authorization.Outcome switch
        {
            AuthorizationOutcome.TokenIssued => EvidenceOutcome.Passed,
            AuthorizationOutcome.Sent => EvidenceOutcome.Info,
            _ => EvidenceOutcome.Failed,
        };
        _evidence.Add(new Evidence(authorization.Scheme == "Bearer" ? "token service" : "authorization", outcome, authorization.Detail, authorization.FromCache ? TimeSpan.Zero : authorization.TokenAnswer?.Duration));
    }

    public RegistryCheck MissingCredentials() =>
        Conclude(PullCause.AuthFailed, 0.9, $"{image.Domain} requires credentials to pull {image.Path} and none were given{(credentials is null ? " (no pull secret matches this registry)" : string.Empty)}");

    public RegistryCheck TokenServiceRejected(AnonymousResult anonymous) =>
        CredentialsRefused($"the token service rejected {credentials}", anonymous);

    public RegistryCheck RegistryRejected(AnonymousResult anonymous) =>
        CredentialsRefused($"{image.Domain} rejected {credentials}", anonymous);

    public RegistryCheck AuthorizationDenied(RegistryAuthorization authorization) =>
        Conclude(PullCause.AccessDenied, 0.8, $"access to {image.Path} is denied: {authorization.Detail}");

    public RegistryCheck TokenRateLimited(RegistryAuthorization authorization) =>
        Conclude(PullCause.RateLimited, 0.95, RateLimitSummary(authorization.TokenAnswer));

    public RegistryCheck AuthorizationFailed(RegistryAuthorization authorization) =>
        Conclude(PullCause.RegistryError, 0.7, $"authorization with {image.Domain} failed: {authorization.Detail}");

    // ── the manifest ─────────────────────────────────────────────────────────────────────────────────────────────

    /// <summary>"manifest library/nginx:1.25", or the digest shortened: "manifest library/nginx@sha256:0123456789ab…".</summary>
    public string ManifestCheck() =>
        image.Digest is not null
            ? $"manifest {image.Path}@{image.Digest[..Math.Min(image.Digest.Length, 19)]}…"
            : $"manifest {image.Path}:{image.Tag ?? image.Digest}";

    public void ManifestFound(string check, ManifestResponse manifest)
    {
        _repositoryExists = true;
        _digest = manifest.Digest;
        _mediaType = manifest.MediaType;
        _evidence.Add(new Evidence(check, EvidenceOutcome.Passed, $"{manifest.MediaType ?? "unknown media type"}, digest {manifest.Digest ?? "not given"}", manifest.Answer.Duration));
    }

    public void ManifestMissing(string check, RegistryAnswer answer) =>
        _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Errors.Count > 0 ? answer.Describe() : "404: no such manifest", answer.Duration));

    public void ManifestRefused(string check, RegistryAnswer answer) =>
        _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));

    public RegistryCheck ManifestFailed(string check, RegistryAnswer answer)
    {
        _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));
        return Conclude(PullCause.RegistryError, 0.7, $"{image.Domain} answered the manifest request with {answer.Describe()}");
    }

    // ── platforms ────────────────────────────────────────────────────────────────────────────────────────────────

    public RegistryCheck PlatformNotGiven(ManifestResponse manifest)
    {
        _evidence.Add(new Evidence("platform", EvidenceOutcome.Skipped, "the node's platform was not given"));
        return Pullable(manifest);
    }

    public RegistryCheck ConfigUnreadable(ManifestResponse manifest, RegistryAnswer configAnswer, TimeSpan took)
    {
        _evidence.Add(new Evidence("image config", EvidenceOutcome.Skipped, $"the image config could not be read ({configAnswer.Describe()}); platform unknown", took));
        return Pullable(manifest);
    }

    public RegistryCheck NoPlatformNamed(ManifestResponse manifest, Platform nodePlatform)
    {
        _evidence.Add(new Evidence($"platform {nodePlatform}", EvidenceOutcome.Skipped, "the manifest names no platform"));
        return Pullable(manifest);
    }

    public RegistryCheck PlatformOffered(ManifestResponse manifest, Platform nodePlatform, IReadOnlyList<Platform> platforms)
    {
        _platforms = platforms;
        _evidence.Add(new Evidence($"platform {nodePlatform}", EvidenceOutcome.Passed, $"the image offers {string.Join(", ", platforms)}"));
        return Pullable(manifest);
    }

    public RegistryCheck PlatformMissing(Platform nodePlatform, IReadOnlyList<Platform> platforms)
    {
        _platforms = platforms;
        var offered = string.Join(", ", platforms);
        _evidence.Add(new Evidence($"platform {nodePlatform}", EvidenceOutcome.Failed, $"the image offers only {offered}"));
        return Conclude(PullCause.PlatformMismatch, 0.95, $"{image.FamiliarString} has no {nodePlatform} image (it offers {offered}); the node cannot run it");
    }

    private RegistryCheck Pullable(ManifestResponse manifest) =>
        Conclude(null, 1, $"{image.FamiliarString} exists ({manifest.Digest}) and is pullable {(credentials is null ? "anonymously" : "with these credentials")}");

    // ── a manifest that is not there ─────────────────────────────────────────────────────────────────────────────

    public RegistryCheck RepositoryMissing()
    {
        _repositoryExists = false;
        return Conclude(PullCause.ImageNotFound, 0.95, $"repository {image.Path} does not exist on {image.Domain}");
    }

    /// <summary>The tag list below was listed for an earlier check of this repository (<see cref="RegistrySharedAnswers"/>).</summary>
    public void TagsReused(TimeSpan window) =>
        _evidence.Add(new Evidence(TagsCheck, EvidenceOutcome.Info, RegistryReuseNote.Line($"listed for an earlier check of {image.Path}", window)));

    public RegistryCheck TagsSayRepositoryMissing(TagListResponse tags)
    {
        _evidence.Add(new Evidence(TagsCheck, EvidenceOutcome.Failed, tags.Answer.Describe(), tags.Answer.Duration));
        return RepositoryMissing();
    }

    public RegistryCheck TagsNotListed(TagListResponse tags)
    {
        _evidence.Add(new Evidence(TagsCheck, EvidenceOutcome.Skipped, $"tags could not be listed: {tags.Answer.Describe()}", tags.Answer.Duration));
        return Conclude(PullCause.ImageNotFound, 0.85, image.Digest is null
            ? $"tag {image.Tag} does not exist in {image.Domain}/{image.Path}"
            : $"manifest {image.Digest} does not exist in {image.Domain}/{image.Path}");
    }

    public RegistryCheck DigestMissing(TagListResponse tags)
    {
        _repositoryExists = true;
        _evidence.Add(new Evidence(TagsCheck, EvidenceOutcome.Info, $"{tags.Tags.Count} tags exist", tags.Answer.Duration));
        return Conclude(PullCause.ImageNotFound, 0.9, $"manifest {image.Digest} does not exist in {image.Domain}/{image.Path} (the repository has {tags.Tags.Count} tags)");
    }

    public RegistryCheck TagMissing(TagListResponse tags, IReadOnlyList<TagSuggestion> suggestions)
    {
        _repositoryExists = true;
        _suggestions = suggestions;
        var listed = $"{tags.Tags.Count}{(tags.Truncated ? "+" : string.Empty)} tags in {tags.Pages} page{(tags.Pages == 1 ? string.Empty : "s")}";
        _evidence.Add(new Evidence(
            TagsCheck,
            EvidenceOutcome.Info,
            suggestions.Count == 0 ? $"{listed}; none close to {image.Tag}" : $"{listed}; nearest: {string.Join(", ", suggestions.Select(s => $"{s.Tag} ({s.Explanation})"))}",
            tags.Answer.Duration));
        var suggestion = suggestions.Count == 0 ? string.Empty : $"; nearest: {string.Join(", ", suggestions.Select(s => s.Tag))}";
        return Conclude(PullCause.ImageNotFound, 0.95, $"tag {image.Tag} does not exist in {image.Domain}/{image.Path}{suggestion}");
    }

    // ── refused or denied, and what an anonymous pull says ───────────────────────────────────────────────────────

    public RegistryCheck AnonymousDenied(RegistryAnswer answer) =>
        Conclude(PullCause.AccessDenied, 0.6, $"anonymous pull of {image.Domain}/{image.Path} is denied ({answer.Describe()}): the repository is private and needs a pull secret, or it does not exist");

    public RegistryCheck Denied(RegistryAnswer answer, AnonymousResult anonymous) =>
        anonymous == AnonymousResult.Pullable
            ? Conclude(PullCause.AuthFailed, 0.85, $"{image.Domain} refuses {credentials} for {image.Path}, although the image is public: the credentials are wrong for it and kubelet does not fall back to anonymous")
            : Conclude(PullCause.AccessDenied, 0.7, $"{credentials} may not pull {image.Domain}/{image.Path} ({answer.Describe()}): the repository belongs to another account or does not exist");

    public void AnonymousNotPossible(RegistryAuthorization authorization, TimeSpan took) =>
        _evidence.Add(new Evidence("anonymous pull", EvidenceOutcome.Info, $"not possible: {authorization.Detail}", took));

    public void AnonymousAnswered(AnonymousResult result, ManifestResponse manifest, TimeSpan took)
    {
        var detail = result switch
        {
            AnonymousResult.Pullable => $"the manifest is readable without credentials ({manifest.Digest})",
            AnonymousResult.NotFound => "404: no such manifest",
            AnonymousResult.Denied => $"denied too: {manifest.Answer.Describe()}",
            _ => manifest.Answer.Describe(),
        };
        _evidence.Add(new Evidence("anonymous pull", EvidenceOutcome.Info, detail, took));
    }

    private string TagsCheck => $"tags of {image.Path}";

    /// <summary>The credentials were refused; <paramref name="anonymous"/> tells whether the image is public (the secret itself breaks the pull).</summary>
    private RegistryCheck CredentialsRefused(string what, AnonymousResult anonymous)
    {
        var expiry = credentials?.Lifetime is { } lifetime && lifetime.IsExpired(Now) ? $" — they expired: {lifetime.Describe(Now)}" : string.Empty;
        var tail = anonymous switch
        {
            AnonymousResult.Pullable => "; the image is public, so it is the matching pull secret that breaks the pull (kubelet does not fall back to anonymous): fix or remove that entry",
            AnonymousResult.NotFound => "; anonymously the registry says the image does not exist either",
            _ => string.Empty,
        };
        return Conclude(PullCause.AuthFailed, 0.95, what + expiry + tail);
    }

    private string RateLimitSummary(RegistryAnswer? answer)
    {
        var text = $"{image.Domain} is rate limiting pulls ({answer?.Describe() ?? "429"})";
        if (_rateLimit is { } headroom)
        {
            text += $"; {headroom}";
        }

        if (answer?.RetryAfter is { } retry && retry > TimeSpan.Zero)
        {
            text += $"; retry after {CredentialLifetime.Span(retry)}";
        }

        return text + (credentials is null ? "; authenticated pulls get a higher limit" : string.Empty);
    }

    private static string Challenges(RegistryAnswer answer) => string.Join(" or ", answer.Challenges.Select(c => c.ToString()));
}
