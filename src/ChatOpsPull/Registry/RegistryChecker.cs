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
/// A check probes DNS, TCP and TLS (<see cref="RegistryProbe"/>), pings <c>/v2/</c> (both, and a repository's tag list,
/// shared by the checks of other images on the same registry for <see cref="RegistryOptions.ProbeReuseWindow"/>:
/// <see cref="RegistrySharedAnswers"/>), authorizes (Basic, or a bearer
/// token for <c>repository:NAME:pull</c>), asks for the manifest (HEAD, or GET when a node platform is given), and on a
/// miss lists the repository's tags to suggest the nearest ones. When credentials are refused or access is denied it
/// also asks anonymously, to tell "private" from "public but your credentials break it". Every step is timed and bounded;
/// a whole check never runs longer than <see cref="RegistryOptions.CheckTimeout"/>. The steps are
/// <see cref="RegistryCheckFlow"/>'s, their words <see cref="RegistryCheckReport"/>'s, and the platforms of an index or
/// image config are read by <see cref="ManifestContent"/> and <see cref="ImageConfig"/>.
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
    private readonly RegistrySharedAnswers _shared;
    private readonly RegistryEndpoints _endpoints;
    private readonly RegistryCheckCache _cache;
    private readonly PullSecretResolver _resolver;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RegistryChecker> _logger;

    public RegistryChecker(
        RegistryClient client,
        RegistryProbe probe,
        RegistrySharedAnswers shared,
        RegistryEndpoints endpoints,
        RegistryCheckCache cache,
        PullSecretResolver resolver,
        IOptions<RegistryOptions> options,
        TimeProvider time,
        ILogger<RegistryChecker> logger)
    {
        _client = client;
        _probe = probe;
        _shared = shared;
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
        var report = new RegistryCheckReport(image, credentials, _time);
        var flow = new RegistryCheckFlow(_client, _probe, _shared, _endpoints.For(image), _options, _time, image, credentials, nodePlatform, report);
        RegistryCheck result;
        using (var deadline = new CancellationTokenSource(_options.CheckTimeout, _time))
        {
            try
            {
                result = await flow.ExecuteAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                result = report.CheckTimedOut(_options.CheckTimeout);
            }
        }

        LogChecked(_logger, image, result.Cause, result.Duration);
        return result;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Registry check of {Image}: {Cause} in {Duration}")]
    private static partial void LogChecked(ILogger logger, ImageReference image, PullCause? cause, TimeSpan duration);
}
