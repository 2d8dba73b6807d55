using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// The primary handler of <see cref="RegistryClient"/>. Every connection goes through <see cref="RegistryDestinations"/>
/// (its <c>ConnectCallback</c> resolves the name, checks each address and connects to the address it checked), and
/// redirects are followed here, not by the socket handler, so each hop is checked too: a hop to another host must be
/// HTTPS unless the registry is configured plain-HTTP, the Authorization header stays behind when the host changes, and
/// at most five hops are followed. Connection pools are kept per registry that has its own TLS settings (extra CA
/// files, skip-verify — like containerd's per-host clients) and per <see cref="NetworkReach"/> limit, so a connection
/// opened for a registry on loopback is never reused for a request a public registry sent. Connect timeout from
/// <see cref="RegistryOptions.ConnectTimeout"/>.
/// </summary>
public sealed class RegistryHttpHandler : HttpMessageHandler
{
    /// <summary>The registry a request is made for (its domain, scheme and reach), set by <see cref="RegistryClient"/>.</summary>
    public static readonly HttpRequestOptionsKey<RegistryEndpoint> EndpointKey = new("chatopspull.registry-endpoint");

    private const int MaxRedirects = 5;
    private readonly RegistryTrust _trust;
    private readonly RegistryOptions _options;
    private readonly RegistryDestinations _destinations;
    private readonly ConcurrentDictionary<(string Domain, NetworkReach Limit), HttpMessageInvoker> _invokers = new();

    public RegistryHttpHandler(RegistryTrust trust, IOptions<RegistryOptions> options, RegistryDestinations destinations)
    {
        _trust = trust;
        _options = options.Value;
        _destinations = destinations;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Options.TryGetValue(EndpointKey, out var endpoint);
        var limit = endpoint?.Reach ?? NetworkReach.Loopback;
        var domain = endpoint is not null && _trust.HasCustomTrust(endpoint.Domain) ? endpoint.Domain : string.Empty;
        var invoker = _invokers.GetOrAdd((domain, limit), key => new HttpMessageInvoker(CreateHandler(key.Domain.Length == 0 ? null : key.Domain, key.Limit), disposeHandler: true));
        var current = request;
        for (var hops = 0; ; hops++)
        {
            var uri = current.RequestUri ?? throw new InvalidOperationException("a registry request needs an absolute URI");
            await RefuseBeforeSendingAsync(uri, limit, cancellationToken).ConfigureAwait(false);
            var response = await invoker.SendAsync(current, cancellationToken).ConfigureAwait(false);
            if (hops == MaxRedirects || !IsRedirect(response.StatusCode) || response.Headers.Location is not { } location)
            {
                return response;
            }

            var next = location.IsAbsoluteUri ? location : new Uri(uri, location);
            if (RefuseRedirect(uri, next, endpoint) is { } refused)
            {
                response.Dispose();
                throw Refused(refused);
            }

            var method = response.StatusCode == HttpStatusCode.SeeOther
                         || (response.StatusCode is HttpStatusCode.MovedPermanently or HttpStatusCode.Found && current.Method == HttpMethod.Post)
                ? HttpMethod.Get
                : current.Method;
            response.Dispose();
            current = Follow(current, next, method);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var invoker in _invokers.Values)
            {
                invoker.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private static bool IsRedirect(HttpStatusCode status) =>
        status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static HttpRequestException Refused(RefusedDestination refused) =>
        new(HttpRequestError.ConnectionError, $"refused: {refused}", new RegistryDestinationRefusedException(refused));

    /// <summary>Names and literal addresses are refused before anything is sent (also when a proxy, not the bot, would connect).</summary>
    private async Task RefuseBeforeSendingAsync(Uri uri, NetworkReach limit, CancellationToken cancellationToken)
    {
        var host = RegistryDestinations.NormalizeName(uri.IdnHost);
        var refused = _destinations.RefuseName(host, uri.Port);
        if (refused is null && IPAddress.TryParse(host, out var literal))
        {
            refused = await _destinations.RefuseAddressAsync(host, literal, uri.Port, limit, cancellationToken).ConfigureAwait(false);
        }

        if (refused is not null)
        {
            throw Refused(refused);
        }
    }

    /// <summary>A hop leaves plain HTTP only for a registry configured plain-HTTP, and never leaves HTTP(S).</summary>
    private static RefusedDestination? RefuseRedirect(Uri from, Uri to, RegistryEndpoint? endpoint)
    {
        var target = $"{to.Scheme}://{to.Authority}";
        if (to.Scheme is not ("https" or "http"))
        {
            return new RefusedDestination(target, "a redirect to something that is not HTTP(S)");
        }

        var plainAllowed = endpoint?.PlainHttp ?? from.Scheme == "http";
        if (to.Scheme == "http" && !plainAllowed)
        {
            return new RefusedDestination(target, $"a redirect to plain HTTP, and {endpoint?.Domain ?? from.Authority} is not configured as a plain-HTTP registry (Registry:Hosts PlainHttp)");
        }

        return null;
    }

    private static HttpRequestMessage Follow(HttpRequestMessage previous, Uri next, HttpMethod method)
    {
        var request = new HttpRequestMessage(method, next) { Version = previous.Version, VersionPolicy = previous.VersionPolicy };
        var sameOrigin = Uri.Compare(previous.RequestUri, next, UriComponents.SchemeAndServer, UriFormat.SafeUnescaped, StringComparison.OrdinalIgnoreCase) == 0;
        foreach (var header in previous.Headers)
        {
            if (!sameOrigin && string.Equals(header.Key, "Authorization", StringComparison.OrdinalIgnoreCase))
            {
                continue; // credentials go to the host they were meant for, never on to another
            }

            request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        if (method == previous.Method && method != HttpMethod.Get && method != HttpMethod.Head)
        {
            request.Content = previous.Content;
        }

        foreach (var option in previous.Options)
        {
            ((IDictionary<string, object?>)request.Options)[option.Key] = option.Value;
        }

        return request;
    }

    private SocketsHttpHandler CreateHandler(string? domain, NetworkReach limit)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.All,
            MaxConnectionsPerServer = 32,
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context, limit, cancellationToken),
        };
        if (domain is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                _trust.Evaluate(domain, (sender as SslStream)?.TargetHostName ?? domain, certificate, chain, errors).Trusted;
        }

        return handler;
    }

    /// <summary>
    /// Connects to the address that was checked. A connection to a proxy (the request's host is not the one connected to)
    /// goes where the operator's proxy settings say; the request's own host was checked by name before sending.
    /// </summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, NetworkReach limit, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var port = context.DnsEndPoint.Port;
        var requested = context.InitialRequestMessage.RequestUri;
        if (requested is not null && RegistryDestinations.NormalizeName(requested.IdnHost) != RegistryDestinations.NormalizeName(host))
        {
            return new NetworkStream(await ConnectToProxyAsync(host, port, cancellationToken).ConfigureAwait(false), ownsSocket: true);
        }

        var (socket, _) = await _destinations.ConnectAsync(host, port, limit, cancellationToken).ConfigureAwait(false);
        return new NetworkStream(socket, ownsSocket: true);
    }

    private async Task<Socket> ConnectToProxyAsync(string host, int port, CancellationToken cancellationToken)
    {
        var network = _destinations.Network;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await network.ResolveAsync(host, cancellationToken).ConfigureAwait(false);
        SocketException? failed = null;
        foreach (var address in addresses)
        {
            try
            {
                return await network.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                failed ??= e;
            }
        }

        throw failed ?? new SocketException((int)SocketError.HostNotFound);
    }
}
