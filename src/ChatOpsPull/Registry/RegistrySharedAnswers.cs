using ChatOpsPull.Core.Caching;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// Answers a registry gives alike to the checks of different images, shared between them for
/// <see cref="RegistryOptions.ProbeReuseWindow"/> like the network probe (checks at the same moment share the one request
/// in flight):
/// <list type="bullet">
/// <item>its <c>/v2/</c> answer — whether it is a registry and how it wants to be authenticated — asked without
/// credentials, so one per registry; kept when it named a registry (200 or a 401 challenge);</item>
/// <item>a repository's tag list, asked after a manifest was not found (for the nearest tags), one per repository and
/// credentials; kept when listed (200). The manifest itself is always asked by each check.</item>
/// </list>
/// Server errors, rate limits and transport failures are asked again by the next check. The token realm a reused
/// challenge names is still checked against the destination rules when a token is asked for. Keys hold no secret
/// (<see cref="RegistryCredentials.Fingerprint"/>).
/// </summary>
public sealed class RegistrySharedAnswers(IOptions<RegistryOptions> options, TimeProvider time)
{
    /// <summary>
    /// Keys a registry cache holds before it drops answers no longer fresh (then all answers, never a request in flight):
    /// more than a storm's registries, repositories and images seen within a window.
    /// </summary>
    internal const int Kept = 1024;

    private readonly SingleFlightCache<string, RegistryPing> _pings = new(
        (p, answeredAt, now) => p.IsRegistry && p.Answer.Code is 200 or 401 && now - answeredAt < options.Value.ProbeReuseWindow,
        RegistrySharedAnswers.Kept,
        time,
        StringComparer.Ordinal);

    private readonly SingleFlightCache<string, TagListResponse> _tags = new(
        (t, answeredAt, now) => t.Answer.Code == 200 && now - answeredAt < options.Value.ProbeReuseWindow, RegistrySharedAnswers.Kept, time, StringComparer.Ordinal);

    /// <summary>/v2/ requests actually sent (not shared or reused); for tests and metrics.</summary>
    public long PingsSent => _pings.ReadsStarted;

    /// <summary>Tag listings actually made (not shared or reused); for tests and metrics.</summary>
    public long TagListsMade => _tags.ReadsStarted;

    public Task<SharedAnswer<RegistryPing>> PingAsync(RegistryEndpoint endpoint, Func<Task<RegistryPing>> ping, CancellationToken cancellationToken) =>
        _pings.GetSharedAsync(endpoint.SharingKey, ping, static (_, run) => run(), cancellationToken);

    public Task<SharedAnswer<TagListResponse>> ListTagsAsync(
        RegistryEndpoint endpoint, string repository, RegistryCredentials? credentials, Func<Task<TagListResponse>> list, CancellationToken cancellationToken) =>
        _tags.GetSharedAsync($"{endpoint.SharingKey}|{repository}|{credentials?.Fingerprint ?? "anonymous"}", list, static (_, run) => run(), cancellationToken);
}
