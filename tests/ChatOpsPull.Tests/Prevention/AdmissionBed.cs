using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Prevention;
using ChatOpsPull.Tests.Digest;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Tests.Prevention;

/// <summary>A CA made for one test and a serving certificate it signed for 127.0.0.1, as PEM files.</summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory, X509Certificate2 ca)
    {
        Directory = directory;
        Ca = ca;
    }

    public string Directory { get; }

    public X509Certificate2 Ca { get; }

    public string CertificateFile => Path.Combine(Directory, "tls.crt");

    public string KeyFile => Path.Combine(Directory, "tls.key");

    public static TestCertificates Create()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("chatopspull-admission-tls-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=ChatOpsPull admission test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=chatopspull.chatopspull.svc", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("chatopspull.chatopspull.svc");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(5), RandomNumberGenerator.GetBytes(12));
        File.WriteAllText(Path.Combine(directory, "tls.crt"), leaf.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "tls.key"), key.ExportPkcs8PrivateKeyPem());
        return new TestCertificates(directory, X509CertificateLoader.LoadCertificate(ca.RawData));
    }

    public void Dispose()
    {
        Ca.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

/// <summary>An HTTPS client that trusts only the given CAs (as the API server trusts only the webhook's caBundle).</summary>
public static class TrustingClient
{
    public static HttpClient For(Uri baseAddress, params X509Certificate2[] roots)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 32,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                    return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()))
                        && certificate is X509Certificate2 leaf && leaf.MatchesHostname("127.0.0.1");
                },
            },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }
}

/// <summary>A registry that accepts connections and never answers (a hung registry).</summary>
public sealed class HangingRegistry : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly List<TcpClient> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public HangingRegistry()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Host = $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _accepting = AcceptAsync();
    }

    public string Host { get; }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_held)
                {
                    _held.Add(client);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_held)
        {
            _held.ForEach(c => c.Dispose());
        }

        _stop.Dispose();
    }
}

/// <summary>
/// The real bot (<see cref="BotOnKestrel"/>) with the admission webhook on: plain HTTP on a loopback port the system picks,
/// HTTPS with the test CA's certificate on another (Admission:Port, which must name a port), a fake Kubernetes API server for ServiceAccounts, secrets and
/// namespaces, and the real registries of <see cref="RegistryFixture"/> (plus a hung one and one nobody listens on).
/// Cards go to a recording Slack surface routed for every namespace.
/// </summary>
public sealed class AdmissionBed : IAsyncDisposable
{
    public const string Channel = "C0PREVENT";

    private readonly BotOnKestrel _bot;
    private readonly string _directory;
    private readonly bool _ownsApi;

    private AdmissionBed(BotOnKestrel bot, FakeKubernetesApi api, bool ownsApi, TestCertificates? certificates, HangingRegistry hanging, string directory, int httpsPort, RecordingSurface slack)
    {
        _bot = bot;
        Api = api;
        _ownsApi = ownsApi;
        Certificates = certificates;
        Hanging = hanging;
        _directory = directory;
        HttpsPort = httpsPort;
        Slack = slack;
    }

    public FakeKubernetesApi Api { get; }

    public TestCertificates? Certificates { get; }

    public HangingRegistry Hanging { get; }

    public int HttpPort => _bot.Port;

    public int HttpsPort { get; }

    public RecordingSurface Slack { get; }

    public IServiceProvider Services => _bot.Services;

    /// <summary>A registry host nobody listens on.</summary>
    public static string DownHost { get; } = $"127.0.0.1:{FreePort.Next()}";

    public Uri HttpsAddress => new($"https://127.0.0.1:{HttpsPort}/");

    /// <param name="selfManaged">Make the bot its own CA (Admission:Certificate=SelfManaged) instead of the test CA's files.</param>
    /// <param name="api">An API server another bed started (a second replica), or null for a new one.</param>
    public static async Task<AdmissionBed> StartAsync(RegistryFixture registry, Dictionary<string, string>? settings = null, bool selfManaged = false, FakeKubernetesApi? api = null)
    {
        var ownsApi = api is null;
        api ??= await FakeKubernetesApi.StartAsync();
        if (ownsApi)
        {
            SeedNamespace(api, "shop");
            api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = "shop" } });
        }

        var directory = Directory.CreateTempSubdirectory("chatopspull-admission-").FullName;
        var certificates = selfManaged ? null : TestCertificates.Create();
        var hanging = new HangingRegistry();
        var httpsPort = FreePort.Next();
        var all = new Dictionary<string, string>
        {
            ["urls"] = $"{BoundPort.LoopbackAnyPort};https://127.0.0.1:{httpsPort}",
            ["Bot:DataDirectory"] = Path.Combine(directory, "data"),
            ["Bot:Cluster"] = "prod",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:ChatOpsPull"] = "Warning",
            ["Kubernetes:KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(directory, "kube"), contextNamespace: "chatopspull"),
            ["Kubernetes:WatchEnabled"] = "false",
            ["Kubernetes:Lease:Enabled"] = "false",
            ["Jobs:SqlitePollInterval"] = "00:00:00.200",
            ["Sweep:Enabled"] = "false",
            ["Admission:Enabled"] = "true",
            ["Admission:Port"] = httpsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Admission:Budget"] = "00:00:01.500",
            ["Admission:Certificate"] = selfManaged ? "SelfManaged" : "Files",
            ["Admission:CaBundleCheckInterval"] = "00:00:01",
            ["Routing:DefaultSlackChannel"] = Channel,
            ["Registry:ConnectTimeout"] = "00:00:02",
            ["Registry:Hosts:0:Host"] = registry.Anonymous,
            ["Registry:Hosts:0:PlainHttp"] = "true",
            ["Registry:Hosts:1:Host"] = registry.Basic,
            ["Registry:Hosts:1:PlainHttp"] = "true",
            ["Registry:Hosts:2:Host"] = hanging.Host,
            ["Registry:Hosts:2:PlainHttp"] = "true",
            ["Registry:Hosts:3:Host"] = DownHost,
            ["Registry:Hosts:3:PlainHttp"] = "true",
        };
        if (certificates is not null)
        {
            all["Admission:CertificateFile"] = certificates.CertificateFile;
            all["Admission:KeyFile"] = certificates.KeyFile;
        }
        else
        {
            all["Admission:CertificateNames:0"] = "127.0.0.1";
        }

        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var slack = new RecordingSurface(ChatPlatform.Slack);
        BotOnKestrel bot;
        try
        {
            bot = await BotOnKestrel.StartAsync(
                all,
                services =>
                {
                    services.RemoveAll<IChatSurface>();
                    services.AddSingleton<IChatSurface>(slack);
                },
                recordPullFailures: false);
        }
        catch
        {
            await DisposeParts(api, ownsApi, certificates, hanging, directory);
            throw;
        }

        return new AdmissionBed(bot, api, ownsApi, certificates, hanging, directory, httpsPort, slack);
    }

    public T Get<T>()
        where T : notnull => _bot.Get<T>();

    /// <summary>A client that trusts the test CA (Files mode).</summary>
    public HttpClient Client() => TrustingClient.For(HttpsAddress, Certificates!.Ca);

    public static void SeedNamespace(FakeKubernetesApi api, string name, string? admissionLabel = null)
    {
        var labels = new JsonObject { ["kubernetes.io/metadata.name"] = name };
        if (admissionLabel is not null)
        {
            labels[AdmissionOptions.NamespaceLabel] = admissionLabel;
        }

        api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Namespace",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = labels },
            ["status"] = new JsonObject { ["phase"] = "Active" },
        });
    }

    /// <summary>A kubernetes.io/dockerconfigjson secret for <paramref name="host"/>, as kubectl create secret docker-registry writes it.</summary>
    public static JsonObject PullSecret(string ns, string name, string host, string user, string password)
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        var config = new JsonObject
        {
            ["auths"] = new JsonObject { [host] = new JsonObject { ["username"] = user, ["password"] = password, ["auth"] = auth } },
        }.ToJsonString();
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["type"] = "kubernetes.io/dockerconfigjson",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["data"] = new JsonObject { [".dockerconfigjson"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(config)) },
        };
    }

    /// <summary>Waits until the findings recorded after the answers are written (the recorder's queue is empty).</summary>
    public async Task SettleAsync()
    {
        var recorder = Get<FindingRecorder>();
        await Eventually.HoldsAsync(() => recorder.Pending == 0, TimeSpan.FromSeconds(20), () => $"{recorder.Pending} findings still being recorded");
    }

    public async ValueTask DisposeAsync()
    {
        await _bot.DisposeAsync();
        await DisposeParts(Api, _ownsApi, Certificates, Hanging, _directory);
    }

    private static async Task DisposeParts(FakeKubernetesApi api, bool ownsApi, TestCertificates? certificates, HangingRegistry hanging, string directory)
    {
        await hanging.DisposeAsync();
        if (ownsApi)
        {
            await api.DisposeAsync();
        }

        certificates?.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
