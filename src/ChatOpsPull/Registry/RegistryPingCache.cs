using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// A registry's <c>/v2/</c> answer — whether it is a registry and how it wants to be authenticated — asked without
/// credentials, so the same for every image on it: checks at the same moment share the one request in flight, and an
/// answer that named a registry (200 or a 401 challenge) serves the checks of other images for
/// <see cref="RegistryOptions.ProbeReuseWindow"/>, like the network probe. Server errors, rate limits and answers that are
/// not a registry's are asked again by the next check. The token realm a reused challenge names is still checked against
/// the destination rules when a token is asked for.
/// </summary>
public sealed class RegistryPingCache(IOptions<RegistryOptions> options, TimeProvider time)
{
    private readonly RecentlyShared<RegistryPing> _pings = new(time);

    /// <summary>Pings actually sent (not shared or reused); for tests and metrics.</summary>
    public long Started => _pings.Started;

    public Task<SharedAnswer<RegistryPing>> GetOrPingAsync(RegistryEndpoint endpoint, Func<Task<RegistryPing>> ping, CancellationToken cancellationToken) =>
        _pings.GetOrRunAsync(
            $"{endpoint.Domain}|{endpoint.Scheme}://{endpoint.Host}:{endpoint.Port}",
            options.Value.ProbeReuseWindow,
            ping,
            p => p.IsRegistry && p.Answer.Code is 200 or 401,
            cancellationToken);
}
