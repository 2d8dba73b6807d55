using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using ChatOpsPull.Registry;
using ChatOpsPull.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Registry;

[CollectionDefinition(Name)]
public sealed class RegistryFixtureGroup : ICollectionFixture<RegistryFixture>
{
    public const string Name = "registry";
}

/// <summary>
/// Debian's docker-registry (CNCF Distribution 2.8) four times on free loopback ports, all serving one storage directory:
/// anonymous over plain HTTP, htpasswd (bcrypt) Basic auth, TLS with a certificate from a CA made here, and Bearer token
/// auth against <see cref="TokenServerStandIn"/>; plus <see cref="DockerHubProxyStandIn"/> in front of the anonymous one.
/// Hand-built OCI images are pushed with skopeo. Everything is stopped by PID at the end.
/// </summary>
public sealed partial class RegistryFixture : IAsyncLifetime
{
    public const string BasicUser = "bob";
    public const string BasicPassword = "bob-Secret-1";
    private readonly List<ExternalProcess> _processes = [];

    public string WorkDir { get; } = Path.Combine(Path.GetTempPath(), "chatopspull-registry-" + Guid.NewGuid().ToString("N")[..8]);

    public int AnonymousPort { get; private set; }

    public int BasicPort { get; private set; }

    public int TlsPort { get; private set; }

    public int TokenPort { get; private set; }

    public ExternalProcess AnonymousRegistry { get; private set; } = null!;

    public TokenServerStandIn TokenServer { get; private set; } = null!;

    public DockerHubProxyStandIn DockerHubProxy { get; private set; } = null!;

    /// <summary>The CA that signed the TLS registry's certificate (valid for IP 127.0.0.1 only).</summary>
    public string CaFile => Path.Combine(WorkDir, "ca.pem");

    public string Anonymous => $"127.0.0.1:{AnonymousPort}";

    public string Basic => $"127.0.0.1:{BasicPort}";

    public string Tls => $"127.0.0.1:{TlsPort}";

    public string Token => $"127.0.0.1:{TokenPort}";

    /// <summary>The token registry behind an API root that answers 200: the challenge comes with the manifest.</summary>
    public DockerHubProxyStandIn OpenRootProxy { get; private set; } = null!;

    public string OpenRoot => $"127.0.0.1:{OpenRootProxy.Port}";

    public string DockerHub => $"127.0.0.1:{DockerHubProxy.Port}";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkDir);
        var storage = Path.Combine(WorkDir, "storage");
        Directory.CreateDirectory(storage);

        (AnonymousRegistry, AnonymousPort) = await StartRegistryAsync("anonymous", storage, tls: null, auth: null);

        // Images, pushed into the shared storage through the anonymous registry.
        var layout = new OciImageLayout(Path.Combine(WorkDir, "layout"));
        foreach (var tag in new[] { "1.4.0", "1.4.2", "1.5.0", "latest" })
        {
            layout.AddImage(tag, content: "team/app");
        }

        layout.AddIndex("multi-1.0", "linux/amd64", "linux/arm64");
        layout.AddImage("tool-1.0", content: "public/tool");
        layout.AddImage("private-1.0", content: "private/app");
        layout.AddImage("storm-1.0", content: "storm/app");
        foreach (var tag in new[] { "1.4.0", "1.4.2", "1.5.0", "latest" })
        {
            await PushAsync(layout, tag, $"{Anonymous}/team/app:{tag}");
        }

        await PushAsync(layout, "multi-1.0", $"{Anonymous}/team/multi:1.0");
        await PushAsync(layout, "tool-1.0", $"{Anonymous}/public/tool:1.0");
        await PushAsync(layout, "storm-1.0", $"{Anonymous}/storm/app:1.0");
        await PushAsync(layout, "tool-1.0", $"{Anonymous}/other/app:1.0");

        // htpasswd (bcrypt, as distribution requires), and a push through it with --dest-creds.
        var htpasswd = await ExternalProcess.RunAsync("htpasswd", ["-Bbn", BasicUser, BasicPassword]);
        await File.WriteAllTextAsync(Path.Combine(WorkDir, "htpasswd"), htpasswd.Trim() + "\n");
        (_, BasicPort) = await StartRegistryAsync("basic", storage, tls: null, auth: $"""
              htpasswd:
                realm: chatopspull-basic-realm
                path: {Path.Combine(WorkDir, "htpasswd")}
            """);
        await PushAsync(layout, "private-1.0", $"{Basic}/private/app:1.0", $"{BasicUser}:{BasicPassword}");

        // TLS with a CA made here; the certificate names IP 127.0.0.1 and nothing else.
        var (certFile, keyFile) = MakeTlsCertificate();
        (_, TlsPort) = await StartRegistryAsync("tls", storage, tls: (certFile, keyFile), auth: null);

        // Bearer tokens from the stand-in token service.
        TokenServer = await TokenServerStandIn.StartAsync();
        var rootBundle = Path.Combine(WorkDir, "token-root.pem");
        TokenServer.WriteRootCertificate(rootBundle);
        (_, TokenPort) = await StartRegistryAsync("token", storage, tls: null, auth: $"""
              token:
                realm: {TokenServer.Realm}
                service: {TokenServerStandIn.Service}
                issuer: {TokenServerStandIn.Issuer}
                rootcertbundle: {rootBundle}
            """);

        DockerHubProxy = await DockerHubProxyStandIn.StartAsync(new Uri($"http://{Anonymous}/"));
        OpenRootProxy = await DockerHubProxyStandIn.StartAsync(new Uri($"http://{Token}/"), openPing: true);
    }

    /// <summary>A checker wired as the bot wires it; the four loopback registries' transport configured, then <paramref name="configure"/>.</summary>
    /// <param name="network">The network the checks see (<see cref="TestNetwork"/>); the real one when null.</param>
    /// <param name="apiServer">The cluster API server the checks must not reach; the process environment's when null.</param>
    public ServiceProvider Services(Action<RegistryOptions>? configure = null, TimeProvider? time = null, RegistryNetwork? network = null, ClusterApiServer? apiServer = null)
    {
        var services = new ServiceCollection();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        if (network is not null)
        {
            services.AddSingleton(network);
        }

        if (apiServer is not null)
        {
            services.AddSingleton(apiServer);
        }

        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddRegistry(new ConfigurationBuilder().Build());
        services.Configure<RegistryOptions>(o =>
        {
            o.ConnectTimeout = TimeSpan.FromSeconds(2);
            o.Hosts.Add(new RegistryHostOptions { Host = Anonymous, PlainHttp = true });
            o.Hosts.Add(new RegistryHostOptions { Host = Basic, PlainHttp = true });
            o.Hosts.Add(new RegistryHostOptions { Host = Token, PlainHttp = true });
            o.Hosts.Add(new RegistryHostOptions { Host = DockerHub, PlainHttp = true });
            o.Hosts.Add(new RegistryHostOptions { Host = OpenRoot, PlainHttp = true });
            o.Hosts.Add(new RegistryHostOptions { Host = Tls, CaFiles = [CaFile] });
            configure?.Invoke(o);
        });
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// One more htpasswd registry on the shared storage (so it serves every pushed image) that accepts only
    /// <paramref name="user"/> with <paramref name="password"/>; stopped with the fixture. Returns "127.0.0.1:port".
    /// </summary>
    public async Task<string> StartBasicRegistryAsync(string user, string password)
    {
        var name = "basic-" + Guid.NewGuid().ToString("N")[..8];
        var htpasswd = await ExternalProcess.RunAsync("htpasswd", ["-Bbn", user, password]);
        var file = Path.Combine(WorkDir, name + ".htpasswd");
        await File.WriteAllTextAsync(file, htpasswd.Trim() + "\n");
        var (_, port) = await StartRegistryAsync(name, Path.Combine(WorkDir, "storage"), tls: null, auth: $"""
              htpasswd:
                realm: {name}
                path: {file}
            """);
        return $"127.0.0.1:{port}";
    }

    /// <summary>
    /// Requests the anonymous registry has logged (its access log: "GET /v2/… HTTP/1.1" 200 …), counted once a marker
    /// request has been logged: a request an earlier test sent may reach the log after its answer, and would otherwise be
    /// counted as the next test's.
    /// </summary>
    public async Task<int> AnonymousRequestCountAsync() => (await AnonymousRequestsSinceAsync(0)).Count;

    /// <summary>
    /// The access log lines after the first <paramref name="skip"/>, once a marker request sent now has been logged: the
    /// registry logs a request as it finishes it, so what was sent before the marker is in the log by then.
    /// </summary>
    public async Task<IReadOnlyList<string>> AnonymousRequestsSinceAsync(int skip)
    {
        var marker = $"/v2/{LogBarrier}{Guid.NewGuid():N}/tags/list";
        using (var http = new HttpClient())
        {
            using var _ = await http.GetAsync(new Uri($"http://{Anonymous}{marker}"));
        }

        await Eventually.HoldsAsync(
            () => AnonymousRegistry.Output.Contains(marker, StringComparison.Ordinal),
            "the anonymous registry to log the marker request",
            seen: () => AnonymousRegistry.Output[Math.Max(0, AnonymousRegistry.Output.Length - 2000)..]);
        return AnonymousAccessLog().Skip(skip).ToList();
    }

    private const string LogBarrier = "chatopspull-log-barrier-";

    private List<string> AnonymousAccessLog() =>
        AccessLogLine().Matches(AnonymousRegistry.Output).Select(m => m.Value).Where(line => !line.Contains(LogBarrier, StringComparison.Ordinal)).ToList();

    public async Task DisposeAsync()
    {
        await DockerHubProxy.DisposeAsync();
        await OpenRootProxy.DisposeAsync();
        await TokenServer.DisposeAsync();
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
            // a registry may still be letting go of a file; the temp dir is cleaned by the OS eventually
        }
    }

    /// <summary>Starts a docker-registry on a free port (probed again when another process took it first); returns it and its port.</summary>
    private async Task<(ExternalProcess Process, int Port)> StartRegistryAsync(string name, string storage, (string Cert, string Key)? tls, string? auth)
    {
        var (process, port) = await ExternalProcess.StartOnFreePortAsync(port => StartRegistryOnAsync(name, port, storage, tls, auth));
        _processes.Add(process);
        return (process, port);
    }

    private async Task<ExternalProcess> StartRegistryOnAsync(string name, int port, string storage, (string Cert, string Key)? tls, string? auth)
    {
        var tlsBlock = tls is { } t ? $"""
              tls:
                certificate: {t.Cert}
                key: {t.Key}
            """ : string.Empty;
        var config = $"""
            version: 0.1
            log:
              level: info
              formatter: text
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {storage}
              delete:
                enabled: true
              maintenance:
                uploadpurging:
                  enabled: false
            http:
              addr: 127.0.0.1:{port}
              secret: chatopspull-test-secret
            {tlsBlock}
            {(auth is null ? string.Empty : "auth:\n" + auth)}
            """;
        var file = Path.Combine(WorkDir, $"{name}.yml");
        await File.WriteAllTextAsync(file, config);
        return ExternalProcess.Start("/usr/bin/docker-registry", ["serve", file], WorkDir);
    }

    private async Task PushAsync(OciImageLayout layout, string layoutTag, string destination, string? credentials = null)
    {
        var args = new List<string> { "copy", "--all", "--insecure-policy", "--dest-tls-verify=false", "--retry-times", "2" };
        if (credentials is not null)
        {
            args.AddRange(["--dest-creds", credentials]);
        }

        args.Add($"oci:{layout.Root}:{layoutTag}");
        args.Add($"docker://{destination}");
        await ExternalProcess.RunAsync("skopeo", args, WorkDir, TimeSpan.FromMinutes(2), new Dictionary<string, string>
        {
            ["HOME"] = WorkDir,
            ["TMPDIR"] = WorkDir,
        });
    }

    private (string Cert, string Key) MakeTlsCertificate()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=ChatOpsPull Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(CaFile, ca.ExportCertificatePem());

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=registry.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(20), RandomNumberGenerator.GetBytes(12));
        var certFile = Path.Combine(WorkDir, "registry.pem");
        var keyFile = Path.Combine(WorkDir, "registry-key.pem");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }

    [GeneratedRegex("\"(GET|HEAD|POST|PUT|PATCH|DELETE) /v2/[^\"]* HTTP/[0-9.]+\"")]
    private static partial Regex AccessLogLine();
}
