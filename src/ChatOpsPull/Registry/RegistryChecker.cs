using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// The registry side of a diagnosis: checks one image for one set of credentials and returns evidence
/// (<see cref="RegistryCheck"/>). This is the API the diagnosis gatherer calls.
/// <para>
/// A check probes DNS, TCP and TLS (<see cref="RegistryProbe"/>), pings <c>/v2/</c>, authorizes (Basic, or a bearer
/// token for <c>repository:NAME:pull</c>), asks for the manifest (HEAD, or GET when a node platform is given), and on a
/// miss lists the repository's tags to suggest the nearest ones. When credentials are refused or access is denied it
/// also asks anonymously, to tell "private" from "public but your credentials break it". Every step is timed and bounded;
/// a whole check never runs longer than <see cref="RegistryOptions.CheckTimeout"/>.
/// </para>
/// <para>
/// Checks are shared: concurrent callers asking about the same image, credentials and platform wait for one check in
/// flight, and its answer serves again for <see cref="RegistryOptions.CacheWindow"/> — so a storm of failures on one
/// image costs the registry one check. The credential part of the cache key is <see cref="RegistryCredentials.Fingerprint"/>.
/// </para>
/// </summary>
public sealed partial class RegistryChecker
{
    private readonly RegistryClient _client;
    private readonly RegistryProbe _probe;
    private readonly RegistryEndpoints _endpoints;
    private readonly RegistryCheckCache _cache;
    private readonly PullSecretResolver _resolver;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RegistryChecker> _logger;

    public RegistryChecker(
        RegistryClient client,
        RegistryProbe probe,
        RegistryEndpoints endpoints,
        RegistryCheckCache cache,
        PullSecretResolver resolver,
        IOptions<RegistryOptions> options,
        TimeProvider time,
        ILogger<RegistryChecker> logger)
    {
        _client = client;
        _probe = probe;
        _endpoints = endpoints;
        _cache = cache;
        _resolver = resolver;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Checks whether <paramref name="image"/> can be pulled with <paramref name="credentials"/> (null: anonymously)
    /// on a node of <paramref name="nodePlatform"/> (null: platform not checked). Never throws for registry trouble;
    /// throws <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public Task<RegistryCheck> CheckAsync(ImageReference image, RegistryCredentials? credentials, Platform? nodePlatform, CancellationToken cancellationToken)
    {
        var key = $"{image}|{nodePlatform?.ToString() ?? "-"}|{credentials?.Fingerprint ?? "anonymous"}";
        return _cache.GetOrRunAsync(key, () => RunAsync(image, credentials, nodePlatform), cancellationToken);
    }

    /// <summary>
    /// Resolves the pod's effective pull secrets as kubelet does and checks the image with each matching credential in
    /// kubelet's order until one pulls (or anonymously when none match).
    /// </summary>
    public async Task<KubeletPullCheck> CheckWithPullSecretsAsync(ImageReference image, IReadOnlyList<V1Secret> pullSecrets, Platform? nodePlatform, CancellationToken cancellationToken)
    {
        var resolution = _resolver.Resolve(image, pullSecrets);
        if (resolution.KeyringError is not null)
        {
            var blocked = new RegistryCheck(image, PullCause.AuthFailed, 0.9, resolution.Summary, resolution.ToEvidence()) { CheckedAt = _time.GetUtcNow() };
            return new KubeletPullCheck(resolution, [blocked]);
        }

        var attempts = new List<RegistryCheck>();
        if (resolution.Matches.Count == 0)
        {
            attempts.Add(await CheckAsync(image, null, nodePlatform, cancellationToken).ConfigureAwait(false));
        }

        foreach (var match in resolution.Matches)
        {
            var check = await CheckAsync(image, match.Credentials, nodePlatform, cancellationToken).ConfigureAwait(false);
            attempts.Add(check);
            if (check.Pullable)
            {
                break;
            }
        }

        return new KubeletPullCheck(resolution, attempts);
    }

    private async Task<RegistryCheck> RunAsync(ImageReference image, RegistryCredentials? credentials, Platform? nodePlatform)
    {
        var run = new CheckRun(this, image, credentials, nodePlatform);
        RegistryCheck result;
        using (var deadline = new CancellationTokenSource(_options.CheckTimeout, _time))
        {
            try
            {
                result = await run.ExecuteAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                result = run.Conclude(PullCause.Network, 0.6, $"the check of {image.FamiliarString} did not finish within {_options.CheckTimeout.TotalSeconds:0} s; the registry is too slow or unreachable");
            }
        }

        LogChecked(_logger, image, result.Cause, result.Duration);
        return result;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Registry check of {Image}: {Cause} in {Duration}")]
    private static partial void LogChecked(ILogger logger, ImageReference image, PullCause? cause, TimeSpan duration);

    /// <summary>The state of one check while it runs.</summary>
    private sealed class CheckRun(RegistryChecker owner, ImageReference image, RegistryCredentials? credentials, Platform? nodePlatform)
    {
        private readonly List<Evidence> _evidence = [];
        private readonly long _started = owner._time.GetTimestamp();
        private readonly RegistryEndpoint _endpoint = owner._endpoints.For(image);
        private RateLimitHeadroom? _rateLimit;
        private string? _digest;
        private string? _mediaType;
        private List<Platform> _platforms = [];
        private IReadOnlyList<TagSuggestion> _suggestions = [];
        private bool? _repositoryExists;

        private RegistryClient Client => owner._client;

        private DateTimeOffset Now => owner._time.GetUtcNow();

        public async Task<RegistryCheck> ExecuteAsync(CancellationToken cancellationToken)
        {
            RecordCredentials();
            var report = await owner._probe.ProbeAsync(_endpoint, cancellationToken).ConfigureAwait(false);
            _evidence.AddRange(report.Evidence);
            if (report.Cause is { } networkCause)
            {
                return Conclude(networkCause, 0.9, report.Summary ?? "the registry cannot be reached");
            }

            try
            {
                return await TalkToRegistryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                return await TransportFailureAsync(e, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // HttpClient.Timeout: one request took longer than Registry:RequestTimeout.
                _evidence.Add(new Evidence("registry request", EvidenceOutcome.Failed, $"no answer within {owner._options.RequestTimeout.TotalSeconds:0} s"));
                return Conclude(PullCause.Network, 0.7, $"{_endpoint.Authority} accepted the connection but did not answer within {owner._options.RequestTimeout.TotalSeconds:0} s");
            }
        }

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
                Duration = owner._time.GetElapsedTime(_started),
            };

        private void RecordCredentials()
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

        private async Task<RegistryCheck> TalkToRegistryAsync(CancellationToken cancellationToken)
        {
            var ping = await Client.PingAsync(_endpoint, cancellationToken).ConfigureAwait(false);
            Note(ping.Answer);
            if (Answered(ping.Answer, "registry API /v2/") is { } early)
            {
                return early;
            }

            if (!ping.IsRegistry)
            {
                _evidence.Add(new Evidence("registry API /v2/", EvidenceOutcome.Failed, $"{ping.Answer.Describe()}: {ping.BodySnippet}", ping.Answer.Duration));
                if (_endpoint.PlainHttp && await owner._probe.DetectTlsOnPlainPortAsync(_endpoint, cancellationToken).ConfigureAwait(false) is { } tls)
                {
                    _evidence.Add(tls);
                    return Conclude(PullCause.Tls, 0.95, tls.Detail);
                }

                return Conclude(PullCause.RegistryError, 0.8, $"{_endpoint.Authority} does not serve the registry API at /v2/ ({ping.Answer.Describe()})");
            }

            _evidence.Add(new Evidence(
                "registry API /v2/",
                ping.Answer.Code == 200 ? EvidenceOutcome.Passed : EvidenceOutcome.Info,
                ping.Answer.Code == 200 ? "200: the API root asks for no authentication" : $"401: wants {string.Join(" or ", ping.Answer.Challenges.Select(c => c.ToString()))}",
                ping.Answer.Duration));

            var authorization = await AuthorizeAsync(ping, credentials, cancellationToken).ConfigureAwait(false);
            if (!authorization.CanProceed)
            {
                return await AuthorizationFailedAsync(ping, authorization, cancellationToken).ConfigureAwait(false);
            }

            var manifest = await ManifestAsync(authorization, cancellationToken).ConfigureAwait(false);
            if (manifest.Answer.Code == 401 && authorization.Outcome == AuthorizationOutcome.NotNeeded && manifest.Answer.Challenges.Count > 0)
            {
                // /v2/ was open but the repository is not: answer the manifest's own challenge, as containerd does.
                ping = new RegistryPing(manifest.Answer, ping.ApiVersion, string.Empty);
                _evidence.Add(new Evidence($"manifest {image.Path}", EvidenceOutcome.Info, $"401: wants {string.Join(" or ", manifest.Answer.Challenges.Select(c => c.ToString()))}", manifest.Answer.Duration));
                authorization = await AuthorizeAsync(ping, credentials, cancellationToken).ConfigureAwait(false);
                if (!authorization.CanProceed)
                {
                    return await AuthorizationFailedAsync(ping, authorization, cancellationToken).ConfigureAwait(false);
                }

                manifest = await ManifestAsync(authorization, cancellationToken).ConfigureAwait(false);
            }

            if (manifest.Answer.Code == 401 && authorization.FromCache)
            {
                // A cached token the registry no longer takes: fetch a fresh one once.
                Client.Forget(authorization);
                authorization = await AuthorizeAsync(ping, credentials, cancellationToken).ConfigureAwait(false);
                if (!authorization.CanProceed)
                {
                    return await AuthorizationFailedAsync(ping, authorization, cancellationToken).ConfigureAwait(false);
                }

                manifest = await ManifestAsync(authorization, cancellationToken).ConfigureAwait(false);
            }

            return await ManifestAnsweredAsync(ping, authorization, manifest, cancellationToken).ConfigureAwait(false);
        }

        private async Task<RegistryAuthorization> AuthorizeAsync(RegistryPing ping, RegistryCredentials? with, CancellationToken cancellationToken)
        {
            var authorization = await Client.AuthorizeAsync(_endpoint, ping, image.Path, with, cancellationToken).ConfigureAwait(false);
            if (authorization.TokenAnswer is { } tokenAnswer)
            {
                Note(tokenAnswer);
            }

            if (authorization.Outcome != AuthorizationOutcome.NotNeeded)
            {
                var outcome = authorization.Outcome switch
                {
                    AuthorizationOutcome.TokenIssued => EvidenceOutcome.Passed,
                    AuthorizationOutcome.Sent => EvidenceOutcome.Info,
                    _ => EvidenceOutcome.Failed,
                };
                _evidence.Add(new Evidence(authorization.Scheme == "Bearer" ? "token service" : "authorization", outcome, authorization.Detail, authorization.FromCache ? TimeSpan.Zero : authorization.TokenAnswer?.Duration));
            }

            return authorization;
        }

        private Task<ManifestResponse> ManifestAsync(RegistryAuthorization authorization, CancellationToken cancellationToken) =>
            nodePlatform is null
                ? Client.HeadManifestAsync(_endpoint, image.Path, image.ManifestReference, authorization, cancellationToken)
                : Client.GetManifestAsync(_endpoint, image.Path, image.ManifestReference, authorization, cancellationToken);

        private async Task<RegistryCheck> AuthorizationFailedAsync(RegistryPing ping, RegistryAuthorization authorization, CancellationToken cancellationToken)
        {
            switch (authorization.Outcome)
            {
                case AuthorizationOutcome.MissingCredentials:
                    return Conclude(PullCause.AuthFailed, 0.9, $"{image.Domain} requires credentials to pull {image.Path} and none were given{(credentials is null ? " (no pull secret matches this registry)" : string.Empty)}");
                case AuthorizationOutcome.Rejected:
                    return await CredentialsRefusedAsync(ping, $"the token service rejected {credentials}", cancellationToken).ConfigureAwait(false);
                case AuthorizationOutcome.Denied:
                    return Conclude(PullCause.AccessDenied, 0.8, $"access to {image.Path} is denied: {authorization.Detail}");
                case AuthorizationOutcome.RateLimited:
                    return Conclude(PullCause.RateLimited, 0.95, RateLimitSummary(authorization.TokenAnswer));
                case AuthorizationOutcome.Failed:
                case AuthorizationOutcome.NotNeeded:
                case AuthorizationOutcome.Sent:
                case AuthorizationOutcome.TokenIssued:
                default:
                    return Conclude(PullCause.RegistryError, 0.7, $"authorization with {image.Domain} failed: {authorization.Detail}");
            }
        }

        private async Task<RegistryCheck> ManifestAnsweredAsync(RegistryPing ping, RegistryAuthorization authorization, ManifestResponse manifest, CancellationToken cancellationToken)
        {
            var answer = manifest.Answer;
            Note(answer);
            var check = $"manifest {image.Path}:{image.Tag ?? image.Digest}";
            if (image.Digest is not null)
            {
                check = $"manifest {image.Path}@{image.Digest[..Math.Min(image.Digest.Length, 19)]}…";
            }

            if (Answered(answer, check) is { } early)
            {
                return early;
            }

            switch (answer.Code)
            {
                case 200:
                    _repositoryExists = true;
                    _digest = manifest.Digest;
                    _mediaType = manifest.MediaType;
                    _evidence.Add(new Evidence(check, EvidenceOutcome.Passed, $"{manifest.MediaType ?? "unknown media type"}, digest {manifest.Digest ?? "not given"}", answer.Duration));
                    return await PlatformAsync(authorization, manifest, cancellationToken).ConfigureAwait(false);
                case 404:
                    _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Errors.Count > 0 ? answer.Describe() : "404: no such manifest", answer.Duration));
                    return await NotFoundAsync(authorization, answer, cancellationToken).ConfigureAwait(false);
                case 401:
                    _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));
                    if (authorization.Scheme == "Basic" || authorization.Outcome == AuthorizationOutcome.Sent)
                    {
                        return await CredentialsRefusedAsync(ping, $"{image.Domain} rejected {credentials}", cancellationToken).ConfigureAwait(false);
                    }

                    return await DeniedAsync(ping, answer, cancellationToken).ConfigureAwait(false);
                case 403:
                    _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));
                    return await DeniedAsync(ping, answer, cancellationToken).ConfigureAwait(false);
                default:
                    _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));
                    return Conclude(PullCause.RegistryError, 0.7, $"{image.Domain} answered the manifest request with {answer.Describe()}");
            }
        }

        /// <summary>429 and 5xx mean the same wherever they come.</summary>
        private RegistryCheck? Answered(RegistryAnswer answer, string check)
        {
            if (answer.Code == 429)
            {
                _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));
                return Conclude(PullCause.RateLimited, 0.95, RateLimitSummary(answer));
            }

            if (answer.Code >= 500)
            {
                _evidence.Add(new Evidence(check, EvidenceOutcome.Failed, answer.Describe(), answer.Duration));
                return Conclude(PullCause.RegistryError, 0.9, $"{image.Domain} answered with a server error: {answer.Describe()}");
            }

            return null;
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

        private async Task<RegistryCheck> PlatformAsync(RegistryAuthorization authorization, ManifestResponse manifest, CancellationToken cancellationToken)
        {
            var pullable = $"{image.FamiliarString} exists ({manifest.Digest}) and is pullable {(credentials is null ? "anonymously" : "with these credentials")}";
            if (nodePlatform is null)
            {
                _evidence.Add(new Evidence("platform", EvidenceOutcome.Skipped, "the node's platform was not given"));
                return Conclude(null, 1, pullable);
            }

            var content = manifest.Content;
            if (content is { IsIndex: true })
            {
                _platforms = content.Entries
                    .Select(e => e.Platform)
                    .OfType<Platform>()
                    .Where(p => p.Os != "unknown" && p.Architecture != "unknown")
                    .Distinct()
                    .ToList();
            }
            else if (content?.ConfigDigest is { } configDigest)
            {
                var started = owner._time.GetTimestamp();
                var (answer, body) = await Client.GetBlobAsync(_endpoint, image.Path, configDigest, authorization, 1024 * 1024, cancellationToken).ConfigureAwait(false);
                if (answer.Code == 200 && ConfigPlatform(body) is { } platform)
                {
                    _platforms = [platform];
                }
                else
                {
                    _evidence.Add(new Evidence("image config", EvidenceOutcome.Skipped, $"the image config could not be read ({answer.Describe()}); platform unknown", owner._time.GetElapsedTime(started)));
                    return Conclude(null, 1, pullable);
                }
            }

            if (_platforms.Count == 0)
            {
                _evidence.Add(new Evidence($"platform {nodePlatform}", EvidenceOutcome.Skipped, "the manifest names no platform"));
                return Conclude(null, 1, pullable);
            }

            var offered = string.Join(", ", _platforms);
            if (_platforms.Any(p => nodePlatform.CanRun(p)))
            {
                _evidence.Add(new Evidence($"platform {nodePlatform}", EvidenceOutcome.Passed, $"the image offers {offered}"));
                return Conclude(null, 1, pullable);
            }

            _evidence.Add(new Evidence($"platform {nodePlatform}", EvidenceOutcome.Failed, $"the image offers only {offered}"));
            return Conclude(PullCause.PlatformMismatch, 0.95, $"{image.FamiliarString} has no {nodePlatform} image (it offers {offered}); the node cannot run it");
        }

        private async Task<RegistryCheck> NotFoundAsync(RegistryAuthorization authorization, RegistryAnswer manifestAnswer, CancellationToken cancellationToken)
        {
            if (manifestAnswer.HasError(RegistryError.NameUnknown))
            {
                _repositoryExists = false;
                return Conclude(PullCause.ImageNotFound, 0.95, $"repository {image.Path} does not exist on {image.Domain}");
            }

            var tags = await Client.ListTagsAsync(_endpoint, image.Path, authorization, cancellationToken).ConfigureAwait(false);
            Note(tags.Answer);
            if (tags.Answer.Code == 404 || tags.Answer.HasError(RegistryError.NameUnknown))
            {
                _repositoryExists = false;
                _evidence.Add(new Evidence($"tags of {image.Path}", EvidenceOutcome.Failed, tags.Answer.Describe(), tags.Answer.Duration));
                return Conclude(PullCause.ImageNotFound, 0.95, $"repository {image.Path} does not exist on {image.Domain}");
            }

            if (tags.Answer.Code != 200 && tags.Tags.Count == 0)
            {
                _evidence.Add(new Evidence($"tags of {image.Path}", EvidenceOutcome.Skipped, $"tags could not be listed: {tags.Answer.Describe()}", tags.Answer.Duration));
                return Conclude(PullCause.ImageNotFound, 0.85, image.Digest is null
                    ? $"tag {image.Tag} does not exist in {image.Domain}/{image.Path}"
                    : $"manifest {image.Digest} does not exist in {image.Domain}/{image.Path}");
            }

            _repositoryExists = true;
            if (image.Digest is not null)
            {
                _evidence.Add(new Evidence($"tags of {image.Path}", EvidenceOutcome.Info, $"{tags.Tags.Count} tags exist", tags.Answer.Duration));
                return Conclude(PullCause.ImageNotFound, 0.9, $"manifest {image.Digest} does not exist in {image.Domain}/{image.Path} (the repository has {tags.Tags.Count} tags)");
            }

            _suggestions = TagSuggestions.For(image.Tag ?? "latest", tags.Tags);
            var listed = $"{tags.Tags.Count}{(tags.Truncated ? "+" : string.Empty)} tags in {tags.Pages} page{(tags.Pages == 1 ? string.Empty : "s")}";
            _evidence.Add(new Evidence(
                $"tags of {image.Path}",
                EvidenceOutcome.Info,
                _suggestions.Count == 0 ? $"{listed}; none close to {image.Tag}" : $"{listed}; nearest: {string.Join(", ", _suggestions.Select(s => $"{s.Tag} ({s.Explanation})"))}",
                tags.Answer.Duration));
            var suggestion = _suggestions.Count == 0 ? string.Empty : $"; nearest: {string.Join(", ", _suggestions.Select(s => s.Tag))}";
            return Conclude(PullCause.ImageNotFound, 0.95, $"tag {image.Tag} does not exist in {image.Domain}/{image.Path}{suggestion}");
        }

        /// <summary>The credentials were refused. Asking anonymously tells whether the image is public (the secret itself breaks the pull).</summary>
        private async Task<RegistryCheck> CredentialsRefusedAsync(RegistryPing ping, string what, CancellationToken cancellationToken)
        {
            var expiry = credentials?.Lifetime is { } lifetime && lifetime.IsExpired(Now) ? $" — they expired: {lifetime.Describe(Now)}" : string.Empty;
            var anonymous = await AnonymousAsync(ping, cancellationToken).ConfigureAwait(false);
            var tail = anonymous switch
            {
                AnonymousResult.Pullable => "; the image is public, so it is the matching pull secret that breaks the pull (kubelet does not fall back to anonymous): fix or remove that entry",
                AnonymousResult.NotFound => "; anonymously the registry says the image does not exist either",
                _ => string.Empty,
            };
            return Conclude(PullCause.AuthFailed, 0.95, what + expiry + tail);
        }

        /// <summary>Authenticated (or anonymous) but not allowed: private, or missing — registries answer both alike.</summary>
        private async Task<RegistryCheck> DeniedAsync(RegistryPing ping, RegistryAnswer answer, CancellationToken cancellationToken)
        {
            if (credentials is null)
            {
                return Conclude(PullCause.AccessDenied, 0.6, $"anonymous pull of {image.Domain}/{image.Path} is denied ({answer.Describe()}): the repository is private and needs a pull secret, or it does not exist");
            }

            var anonymous = await AnonymousAsync(ping, cancellationToken).ConfigureAwait(false);
            return anonymous == AnonymousResult.Pullable
                ? Conclude(PullCause.AuthFailed, 0.85, $"{image.Domain} refuses {credentials} for {image.Path}, although the image is public: the credentials are wrong for it and kubelet does not fall back to anonymous")
                : Conclude(PullCause.AccessDenied, 0.7, $"{credentials} may not pull {image.Domain}/{image.Path} ({answer.Describe()}): the repository belongs to another account or does not exist");
        }

        private async Task<AnonymousResult> AnonymousAsync(RegistryPing ping, CancellationToken cancellationToken)
        {
            if (credentials is null)
            {
                return AnonymousResult.Unknown;
            }

            var started = owner._time.GetTimestamp();
            var authorization = await Client.AuthorizeAsync(_endpoint, ping, image.Path, null, cancellationToken).ConfigureAwait(false);
            if (!authorization.CanProceed)
            {
                _evidence.Add(new Evidence("anonymous pull", EvidenceOutcome.Info, $"not possible: {authorization.Detail}", owner._time.GetElapsedTime(started)));
                return AnonymousResult.Denied;
            }

            var manifest = await Client.HeadManifestAsync(_endpoint, image.Path, image.ManifestReference, authorization, cancellationToken).ConfigureAwait(false);
            Note(manifest.Answer);
            var (result, detail) = manifest.Answer.Code switch
            {
                200 => (AnonymousResult.Pullable, $"the manifest is readable without credentials ({manifest.Digest})"),
                404 => (AnonymousResult.NotFound, "404: no such manifest"),
                401 or 403 => (AnonymousResult.Denied, $"denied too: {manifest.Answer.Describe()}"),
                _ => (AnonymousResult.Unknown, manifest.Answer.Describe()),
            };
            _evidence.Add(new Evidence("anonymous pull", EvidenceOutcome.Info, detail, owner._time.GetElapsedTime(started)));
            return result;
        }

        private async Task<RegistryCheck> TransportFailureAsync(HttpRequestException e, CancellationToken cancellationToken)
        {
            if (_endpoint.PlainHttp && e.HttpRequestError is HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded
                && await owner._probe.DetectTlsOnPlainPortAsync(_endpoint, cancellationToken).ConfigureAwait(false) is { } tls)
            {
                _evidence.Add(tls);
                return Conclude(PullCause.Tls, 0.95, tls.Detail);
            }

            var (cause, detail) = e.InnerException switch
            {
                AuthenticationException auth => (PullCause.Tls, $"TLS failed during the request: {auth.Message}"),
                SocketException socket => (PullCause.Network, $"connection failed during the request: {socket.Message}"),
                _ when e.HttpRequestError is HttpRequestError.NameResolutionError => (PullCause.Network, $"name resolution failed: {e.Message}"),
                _ when e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.ProxyTunnelError => (PullCause.Network, $"connection failed: {e.Message}"),
                _ when e.HttpRequestError is HttpRequestError.SecureConnectionError => (PullCause.Tls, $"TLS failed: {e.Message}"),
                _ => (PullCause.RegistryError, $"the exchange with the registry failed: {e.Message}"),
            };
            _evidence.Add(new Evidence("registry request", EvidenceOutcome.Failed, detail));
            return Conclude(cause, 0.8, $"{_endpoint.Authority}: {detail}");
        }

        private void Note(RegistryAnswer answer)
        {
            if (answer.RateLimit is { } headroom)
            {
                _rateLimit = headroom;
                if (!_evidence.Any(ev => ev.Check == "rate limit"))
                {
                    _evidence.Add(new Evidence("rate limit", headroom.Remaining > 0 ? EvidenceOutcome.Info : EvidenceOutcome.Failed, headroom.ToString()));
                }
                else
                {
                    var index = _evidence.FindIndex(ev => ev.Check == "rate limit");
                    _evidence[index] = new Evidence("rate limit", headroom.Remaining > 0 ? EvidenceOutcome.Info : EvidenceOutcome.Failed, headroom.ToString());
                }
            }
        }

        private static Platform? ConfigPlatform(byte[] body)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Object
                    && root.TryGetProperty("os", out var os) && os.ValueKind == JsonValueKind.String
                    && root.TryGetProperty("architecture", out var arch) && arch.ValueKind == JsonValueKind.String)
                {
                    var variant = root.TryGetProperty("variant", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                    return new Platform(os.GetString()!, arch.GetString()!, variant);
                }
            }
            catch (JsonException)
            {
                // not a config we can read
            }

            return null;
        }

        private enum AnonymousResult
        {
            Unknown,
            Pullable,
            NotFound,
            Denied,
        }
    }
}
