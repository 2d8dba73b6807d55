using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ChatOpsPull.Registry;
using ChatOpsPull.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Registry;

/// <summary>One request a <see cref="ScriptedServer"/> received.</summary>
public sealed record SeenRequest(string Method, string PathAndQuery, string? Authorization, string Host);

/// <summary>
/// A small HTTP (or HTTPS) server on a free loopback port that answers as its <see cref="Handler"/> says and records
/// every request: a hostile registry, a hostile token service, or an internal service a hostile registry points at.
/// </summary>
public sealed class ScriptedServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<SeenRequest> _requests = new();

    private ScriptedServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The port the system picked (the server listens on port 0); known once it has started.</summary>
    public int Port { get; private set; }

    /// <summary>"127.0.0.1:port".</summary>
    public string Authority => $"127.0.0.1:{Port}";

    public Func<HttpContext, Task> Handler { get; set; } = context =>
    {
        context.Response.StatusCode = 404;
        return Task.CompletedTask;
    };

    public IReadOnlyList<SeenRequest> Requests => _requests.ToList();

    /// <param name="tls">A certificate to serve HTTPS with; plain HTTP when null.</param>
    public static async Task<ScriptedServer> StartAsync(X509Certificate2? tls = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (tls is not null)
            {
                listen.UseHttps(tls);
            }
        }));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ScriptedServer(app);
        app.Run(context =>
        {
            var authorization = context.Request.Headers.Authorization.ToString();
            server._requests.Enqueue(new SeenRequest(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                authorization.Length == 0 ? null : authorization,
                context.Request.Host.ToString()));
            return server.Handler(context);
        });
        await app.StartAsync();
        server.Port = BoundPort.Of(app);
        return server;
    }

    /// <summary>A self-signed certificate for <paramref name="dnsName"/> (the test configures SkipVerify or a CA file for it).</summary>
    public static X509Certificate2 Certificate(string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// The network as a test wants the registry code to see it, below <see cref="RegistryDestinations"/>'s checks: names
/// answer with the addresses given (in turn, so a name can change its answer between the probe and the request, as
/// with DNS rebinding), and addresses given a route lead to a loopback server on the same port — so "203.0.113.10" can
/// be a public registry the test runs on 127.0.0.1. Every lookup and connect is recorded; a connect to an address that
/// is neither loopback nor routed fails at once (the tests never touch the real network).
/// </summary>
public sealed class TestNetwork : RegistryNetwork
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<IPAddress[]>> _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, IPAddress[]> _lastAnswer = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<IPAddress, IPAddress> _routes = new();
    private readonly ConcurrentQueue<string> _lookups = new();
    private readonly ConcurrentQueue<IPEndPoint> _connects = new();

    public IReadOnlyList<string> Lookups => _lookups.ToList();

    /// <summary>Every address a connection was made (or tried) to, as the registry code asked for it (before routing).</summary>
    public IReadOnlyList<IPEndPoint> Connects => _connects.ToList();

    /// <summary><paramref name="host"/> answers each list in turn; the last answer stays.</summary>
    public TestNetwork Name(string host, params string[][] answers)
    {
        var queue = _names.GetOrAdd(host, _ => new ConcurrentQueue<IPAddress[]>());
        foreach (var answer in answers)
        {
            queue.Enqueue(answer.Select(IPAddress.Parse).ToArray());
        }

        return this;
    }

    /// <summary>Connections to <paramref name="address"/> reach 127.0.0.1 on the same port.</summary>
    public TestNetwork Route(string address)
    {
        _routes[IPAddress.Parse(address)] = IPAddress.Loopback;
        return this;
    }

    public bool Connected(string address) => _connects.Any(c => c.Address.Equals(IPAddress.Parse(address)));

    public override Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        _lookups.Enqueue(host);
        if (_names.TryGetValue(host, out var queue))
        {
            if (queue.TryDequeue(out var answer))
            {
                _lastAnswer[host] = answer;
                return Task.FromResult(answer);
            }

            if (_lastAnswer.TryGetValue(host, out var last))
            {
                return Task.FromResult(last);
            }
        }

        return host is "localhost"
            ? base.ResolveAsync(host, cancellationToken)
            : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
    }

    public override Task<Socket> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        _connects.Enqueue(endpoint);
        if (_routes.TryGetValue(endpoint.Address, out var to))
        {
            return base.ConnectAsync(new IPEndPoint(to, endpoint.Port), cancellationToken);
        }

        return IPAddress.IsLoopback(endpoint.Address)
            ? base.ConnectAsync(endpoint, cancellationToken)
            : Task.FromException<Socket>(new SocketException((int)SocketError.NetworkUnreachable));
    }
}
