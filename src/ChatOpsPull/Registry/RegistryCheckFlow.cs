using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Registry;

/// <summary>
/// The protocol of one registry check, in the order a runtime pulls: network probe, <c>/v2/</c> ping, authorization
/// (Basic, or a bearer token for <c>repository:NAME:pull</c>; the manifest's own challenge when /v2/ is open; a fresh
/// token once when a cached one is refused), the manifest (HEAD, or GET when a node platform is given), then the image
/// config or index for the platform, the tag list on a miss, and an anonymous try when credentials are refused.
/// Each finding goes to the <see cref="RegistryCheckReport"/>, which words it; index and config bodies are read by
/// <see cref="ManifestContent"/> and <see cref="ImageConfig"/>. One instance per check.
/// </summary>
internal sealed class RegistryCheckFlow(
    RegistryClient client,
    RegistryProbe probe,
    RegistrySharedAnswers shared,
    RegistryEndpoint endpoint,
    RegistryOptions options,
    TimeProvider time,
    ImageReference image,
    RegistryCredentials? credentials,
    Platform? nodePlatform,
    RegistryCheckReport report)
{
    /// <summary>The largest image config read for its platform.</summary>
    private const int MaxConfigBytes = 1024 * 1024;

    public async Task<RegistryCheck> ExecuteAsync(CancellationToken cancellationToken)
    {
        report.Credentials();
        var network = await probe.ProbeAsync(endpoint, cancellationToken).ConfigureAwait(false);
        report.Network(network);
        if (network.Refused is not null)
        {
            return report.NotContacted(network);
        }

        if (network.Cause is { } networkCause)
        {
            return report.Unreachable(network, networkCause);
        }

        // Requests for this registry (token realm, redirects, its own) may go no further inside the network than the
        // address the probe found it at; a probe that connected nowhere (behind a proxy) leaves only public places.
        endpoint = endpoint with { Reach = network.Reach ?? NetworkReach.Public };

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
            return report.RequestTimedOut(endpoint, options.RequestTimeout);
        }
    }

    private async Task<RegistryCheck> TalkToRegistryAsync(CancellationToken cancellationToken)
    {
        // The /v2/ answer is the registry's, not the image's: shared with the checks of other images on it (RegistrySharedAnswers).
        // The request runs bounded by Registry:RequestTimeout, not by one caller's check.
        var asked = endpoint;
        var pinged = await shared.PingAsync(endpoint, () => client.PingAsync(asked, CancellationToken.None), cancellationToken).ConfigureAwait(false);
        var ping = pinged.Answer;
        report.RateLimit(ping.Answer);
        if (ServerTrouble(ping.Answer, RegistryCheckReport.ApiRootCheck) is { } early)
        {
            return early;
        }

        if (!ping.IsRegistry)
        {
            report.NotRegistry(ping);
            if (endpoint.PlainHttp && await probe.DetectTlsOnPlainPortAsync(endpoint, cancellationToken).ConfigureAwait(false) is { } tls)
            {
                return report.TlsOnPlainPort(tls);
            }

            return report.NoRegistryApi(endpoint, ping);
        }

        report.ApiRoot(ping, pinged.AnsweredAt is null ? null : options.ProbeReuseWindow);
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
            report.ManifestChallenge(manifest.Answer);
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
            client.Forget(authorization);
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
        var authorization = await client.AuthorizeAsync(endpoint, ping, image.Path, with, cancellationToken).ConfigureAwait(false);
        if (authorization.TokenAnswer is { } tokenAnswer)
        {
            report.RateLimit(tokenAnswer);
        }

        report.Authorization(authorization);
        return authorization;
    }

    private Task<ManifestResponse> ManifestAsync(RegistryAuthorization authorization, CancellationToken cancellationToken) =>
        nodePlatform is null
            ? client.HeadManifestAsync(endpoint, image.Path, image.ManifestReference, authorization, cancellationToken)
            : client.GetManifestAsync(endpoint, image.Path, image.ManifestReference, authorization, cancellationToken);

    private async Task<RegistryCheck> AuthorizationFailedAsync(RegistryPing ping, RegistryAuthorization authorization, CancellationToken cancellationToken)
    {
        switch (authorization.Outcome)
        {
            case AuthorizationOutcome.MissingCredentials:
                return report.MissingCredentials();
            case AuthorizationOutcome.Rejected:
                return report.TokenServiceRejected(await AnonymousAsync(ping, cancellationToken).ConfigureAwait(false));
            case AuthorizationOutcome.Denied:
                return report.AuthorizationDenied(authorization);
            case AuthorizationOutcome.RateLimited:
                return report.TokenRateLimited(authorization);
            case AuthorizationOutcome.Refused:
                return report.RealmRefused(authorization);
            case AuthorizationOutcome.Failed:
            case AuthorizationOutcome.NotNeeded:
            case AuthorizationOutcome.Sent:
            case AuthorizationOutcome.TokenIssued:
            default:
                return report.AuthorizationFailed(authorization);
        }
    }

    private async Task<RegistryCheck> ManifestAnsweredAsync(RegistryPing ping, RegistryAuthorization authorization, ManifestResponse manifest, CancellationToken cancellationToken)
    {
        var answer = manifest.Answer;
        report.RateLimit(answer);
        var check = report.ManifestCheck();
        if (ServerTrouble(answer, check) is { } early)
        {
            return early;
        }

        switch (answer.Code)
        {
            case 200:
                report.ManifestFound(check, manifest);
                return await PlatformAsync(authorization, manifest, cancellationToken).ConfigureAwait(false);
            case 404:
                report.ManifestMissing(check, answer);
                return await NotFoundAsync(authorization, answer, cancellationToken).ConfigureAwait(false);
            case 401:
                report.ManifestRefused(check, answer);
                if (authorization.Scheme == "Basic" || authorization.Outcome == AuthorizationOutcome.Sent)
                {
                    return report.RegistryRejected(await AnonymousAsync(ping, cancellationToken).ConfigureAwait(false));
                }

                return await DeniedAsync(ping, answer, cancellationToken).ConfigureAwait(false);
            case 403:
                report.ManifestRefused(check, answer);
                return await DeniedAsync(ping, answer, cancellationToken).ConfigureAwait(false);
            default:
                return report.ManifestFailed(check, answer);
        }
    }

    /// <summary>429 and 5xx mean the same wherever they come.</summary>
    private RegistryCheck? ServerTrouble(RegistryAnswer answer, string check) =>
        answer.Code switch
        {
            429 => report.RateLimited(answer, check),
            >= 500 => report.ServerError(answer, check),
            _ => null,
        };

    private async Task<RegistryCheck> PlatformAsync(RegistryAuthorization authorization, ManifestResponse manifest, CancellationToken cancellationToken)
    {
        if (nodePlatform is null)
        {
            return report.PlatformNotGiven(manifest);
        }

        IReadOnlyList<Platform> platforms = [];
        var content = manifest.Content;
        if (content is { IsIndex: true })
        {
            platforms = content.OfferedPlatforms;
        }
        else if (content?.ConfigDigest is { } configDigest)
        {
            var started = time.GetTimestamp();
            var (answer, body) = await client.GetBlobAsync(endpoint, image.Path, configDigest, authorization, MaxConfigBytes, cancellationToken).ConfigureAwait(false);
            if (answer.Code != 200 || ImageConfig.PlatformOf(body) is not { } platform)
            {
                return report.ConfigUnreadable(manifest, answer, time.GetElapsedTime(started));
            }

            platforms = [platform];
        }

        if (platforms.Count == 0)
        {
            return report.NoPlatformNamed(manifest, nodePlatform);
        }

        return platforms.Any(p => nodePlatform.CanRun(p))
            ? report.PlatformOffered(manifest, nodePlatform, platforms)
            : report.PlatformMissing(nodePlatform, platforms);
    }

    private async Task<RegistryCheck> NotFoundAsync(RegistryAuthorization authorization, RegistryAnswer manifestAnswer, CancellationToken cancellationToken)
    {
        if (manifestAnswer.HasError(RegistryError.NameUnknown))
        {
            return report.RepositoryMissing();
        }

        // The repository's tags are the same for every image of it (and these credentials): shared like the /v2/ answer.
        var asked = endpoint;
        var listed = await shared.ListTagsAsync(endpoint, image.Path, credentials, () => client.ListTagsAsync(asked, image.Path, authorization, CancellationToken.None), cancellationToken).ConfigureAwait(false);
        var tags = listed.Answer;
        if (listed.AnsweredAt is not null)
        {
            report.TagsReused(options.ProbeReuseWindow);
        }

        report.RateLimit(tags.Answer);
        if (tags.Answer.Code == 404 || tags.Answer.HasError(RegistryError.NameUnknown))
        {
            return report.TagsSayRepositoryMissing(tags);
        }

        if (tags.Answer.Code != 200 && tags.Tags.Count == 0)
        {
            return report.TagsNotListed(tags);
        }

        return image.Digest is not null
            ? report.DigestMissing(tags)
            : report.TagMissing(tags, TagSuggestions.For(image.Tag ?? "latest", tags.Tags));
    }

    /// <summary>Authenticated (or anonymous) but not allowed: private, or missing — registries answer both alike.</summary>
    private async Task<RegistryCheck> DeniedAsync(RegistryPing ping, RegistryAnswer answer, CancellationToken cancellationToken)
    {
        if (credentials is null)
        {
            return report.AnonymousDenied(answer);
        }

        return report.Denied(answer, await AnonymousAsync(ping, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The credentials were refused or denied: asking anonymously tells "private" from "public but your credentials break it".</summary>
    private async Task<AnonymousResult> AnonymousAsync(RegistryPing ping, CancellationToken cancellationToken)
    {
        if (credentials is null)
        {
            return AnonymousResult.Unknown;
        }

        var started = time.GetTimestamp();
        var authorization = await client.AuthorizeAsync(endpoint, ping, image.Path, null, cancellationToken).ConfigureAwait(false);
        if (!authorization.CanProceed)
        {
            report.AnonymousNotPossible(authorization, time.GetElapsedTime(started));
            return AnonymousResult.Denied;
        }

        var manifest = await client.HeadManifestAsync(endpoint, image.Path, image.ManifestReference, authorization, cancellationToken).ConfigureAwait(false);
        report.RateLimit(manifest.Answer);
        var result = manifest.Answer.Code switch
        {
            200 => AnonymousResult.Pullable,
            404 => AnonymousResult.NotFound,
            401 or 403 => AnonymousResult.Denied,
            _ => AnonymousResult.Unknown,
        };
        report.AnonymousAnswered(result, manifest, time.GetElapsedTime(started));
        return result;
    }

    private async Task<RegistryCheck> TransportFailureAsync(HttpRequestException e, CancellationToken cancellationToken)
    {
        if (RegistryDestinationRefusedException.Find(e) is { } refused)
        {
            return report.RequestRefused(refused);
        }

        if (endpoint.PlainHttp && e.HttpRequestError is HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded
            && await probe.DetectTlsOnPlainPortAsync(endpoint, cancellationToken).ConfigureAwait(false) is { } tls)
        {
            return report.TlsOnPlainPort(tls);
        }

        return report.TransportFailed(endpoint, e);
    }
}
