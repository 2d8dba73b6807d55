using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// In-process servers listen on 127.0.0.1 port 0: the system picks a free port as Kestrel binds, so nothing can take it
/// between a probe and the bind (as it could with <see cref="FreePort"/>). The port is read back once the server runs.
/// </summary>
public static class BoundPort
{
    /// <summary>What to give Kestrel (<c>--urls</c> or <c>UseUrls</c>) to listen on a port the system picks.</summary>
    public const string LoopbackAnyPort = "http://127.0.0.1:0";

    /// <summary>
    /// The port a started host's Kestrel is bound to (its <see cref="IServerAddressesFeature"/>): the plain-HTTP one when
    /// it listens on plain HTTP and HTTPS (the admission webhook's host), else its only one.
    /// </summary>
    public static int Of(IHost host)
    {
        var addresses = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("the server has no addresses feature");
        var bound = addresses.Select(a => new Uri(a)).ToList();
        var chosen = bound.FirstOrDefault(a => a.Scheme == Uri.UriSchemeHttp) ?? bound.FirstOrDefault()
            ?? throw new InvalidOperationException("the server is not listening (was it started?)");
        return chosen.Port;
    }
}
