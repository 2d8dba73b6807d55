using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// The primary handler of <see cref="RegistryClient"/>: one connection pool per registry that has its own TLS settings
/// (extra CA files, skip-verify — like containerd's per-host clients), so a request's trust never depends on another
/// registry's configuration. Requests name their registry with <see cref="DomainKey"/>; redirects stay on that registry's
/// settings, as they do in containerd. Connect timeout from <see cref="RegistryOptions.ConnectTimeout"/>.
/// </summary>
public sealed class RegistryHttpHandler : HttpMessageHandler
{
    /// <summary>The registry domain a request belongs to (the configuration key), set by <see cref="RegistryClient"/>.</summary>
    public static readonly HttpRequestOptionsKey<string> DomainKey = new("chatopspull.registry-domain");

    private readonly RegistryTrust _trust;
    private readonly RegistryOptions _options;
    private readonly HttpMessageInvoker _default;
    private readonly ConcurrentDictionary<string, HttpMessageInvoker> _custom = new(StringComparer.OrdinalIgnoreCase);

    public RegistryHttpHandler(RegistryTrust trust, IOptions<RegistryOptions> options)
    {
        _trust = trust;
        _options = options.Value;
        _default = new HttpMessageInvoker(CreateHandler(null), disposeHandler: true);
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var invoker = _default;
        if (request.Options.TryGetValue(DomainKey, out var domain) && _trust.HasCustomTrust(domain))
        {
            invoker = _custom.GetOrAdd(domain, d => new HttpMessageInvoker(CreateHandler(d), disposeHandler: true));
        }

        return invoker.SendAsync(request, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _default.Dispose();
            foreach (var invoker in _custom.Values)
            {
                invoker.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private SocketsHttpHandler CreateHandler(string? domain)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            AutomaticDecompression = DecompressionMethods.All,
            MaxConnectionsPerServer = 32,
        };
        if (domain is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                _trust.Evaluate(domain, (sender as SslStream)?.TargetHostName ?? domain, certificate, chain, errors).Trusted;
        }

        return handler;
    }
}
