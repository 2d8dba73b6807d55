using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Hosting;
using ChatOpsPull.Simulation.KubernetesApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Bench;

/// <summary>
/// <c>admission-load [--requests N] [--concurrency C]</c>: the real host on Kestrel with the admission webhook on (HTTPS,
/// a CA made here), Debian's docker-registry on loopback with bench images, and the fake Kubernetes API server for the
/// ServiceAccount. Sends N AdmissionReviews per kind, C at a time, over kept-alive HTTPS connections after a warm-up
/// (checks cached, lookups cached, connections open), and prints p50/p99/max per review beside the floor: the same body
/// POSTed over the same connections to an endpoint that reads it and answers a fixed review (TLS, Kestrel, the body; no
/// check). Then 1,000 reviews of one image nobody asked about yet, at once, and the registry requests they cost.
/// Every answer is checked (200, uid echoed, the expected warnings).
/// </summary>
public static partial class AdmissionLoadDriver
{
    public const string Mode = "admission-load";
    private const string FloorPath = "/bench/empty";

    public static async Task<int> RunAsync(string[] args)
    {
        var requests = Option(args, "--requests", 5000);
        var concurrency = Option(args, "--concurrency", 1);
        var dir = Directory.CreateTempSubdirectory("chatopspull-admission-load-").FullName;
        var registryPort = ChatOpsPull.Tests.Infrastructure.FreePort.Next();
        var registryLog = new StringBuilder();
        using var registry = StartRegistry(dir, registryPort, registryLog);
        try
        {
            var host = $"127.0.0.1:{registryPort}";
            await RegistryCheckBenchmarks.PushAsync(host);
            await using var api = await FakeKubernetesApi.StartAsync();
            api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = "shop" } });
            var (ca, certFile, keyFile) = Certificates(dir);
            var httpPort = ChatOpsPull.Tests.Infrastructure.FreePort.Next();
            var httpsPort = ChatOpsPull.Tests.Infrastructure.FreePort.Next();
            var app = BotHost.Build(
            [
                $"--urls=http://127.0.0.1:{httpPort};https://127.0.0.1:{httpsPort}",
                $"--Bot:DataDirectory={Path.Combine(dir, "data")}",
                "--Logging:LogLevel:Default=Error",
                $"--Kubernetes:KubeconfigPath={api.WriteKubeconfig(Path.Combine(dir, "kube"), contextNamespace: "chatopspull")}",
                "--Kubernetes:WatchEnabled=false",
                "--Kubernetes:Lease:Enabled=false",
                "--Sweep:Enabled=false",
                "--Admission:Enabled=true",
                $"--Admission:Port={httpsPort}",
                "--Admission:Certificate=Files",
                $"--Admission:CertificateFile={certFile}",
                $"--Admission:KeyFile={keyFile}",
                $"--Registry:Hosts:0:Host={host}",
                "--Registry:Hosts:0:PlainHttp=true",
            ], builder => builder.Services.AddSingleton<IStartupFilter>(new Floor()));
            await app.StartAsync();
            try
            {
                using var http = Client(new Uri($"https://127.0.0.1:{httpsPort}"), ca, Math.Max(concurrency, 64));
                var pullable = PodReview($"{host}/bench/app:1.4.2");
                var missing = PodReview($"{host}/bench/app:1.4.3");
                var update = DeploymentReview($"{host}/bench/app:1.4.2", $"{host}/bench/app:1.5.0", $"{host}/bench/multi:1.0");
                var kinds = new (string Name, string Path, JsonObject Review, int Warnings)[]
                {
                    ("floor: same body, fixed answer", FloorPath, pullable, 0),
                    ("Pod CREATE, image pullable", "/admission/validate", pullable, 0),
                    ("Pod CREATE, missing tag (warning)", "/admission/validate", missing, 1),
                    ("Deployment UPDATE, 1 of 2 images new", "/admission/validate", update, 0),
                };
                Console.WriteLine($"admission-load: {requests} reviews per kind, {concurrency} at a time, HTTPS to the bot on 127.0.0.1:{httpsPort} (in process), registry on {host}");
                Console.WriteLine($"{"kind",-40} {"req/s",8} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"wrong",6}");
                var failed = false;
                var before = AccessLines(registryLog);
                foreach (var (name, path, review, warnings) in kinds)
                {
                    await RunKindAsync(http, path, review, warnings, Math.Min(requests, 500), concurrency); // warm-up
                    var (rate, latencies, wrong) = await RunKindAsync(http, path, review, warnings, requests, concurrency);
                    failed |= wrong > 0;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-40} {rate,8:0} {Percentile(latencies, 0.50),8:0.00} {Percentile(latencies, 0.99),8:0.00} {latencies[^1],8:0.00} {wrong,6}"));
                }

                Console.WriteLine($"registry requests during the runs above (warm-ups included, cache window 30 s): {AccessLines(registryLog) - before}");

                var burstBefore = AccessLines(registryLog);
                var burst = PodReview($"{host}/bench/app:1.4.0");
                var clock = Stopwatch.StartNew();
                var (_, _, burstWrong) = await RunKindAsync(http, "/admission/validate", burst, 0, 1000, 64);
                clock.Stop();
                await Task.Delay(500); // the registry's access log is written after each answer
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"1,000 reviews of one new image, 64 at a time, in {clock.Elapsed.TotalMilliseconds:0} ms: {AccessLines(registryLog) - burstBefore} registry requests, {burstWrong} wrong answers"));
                return failed || burstWrong > 0 ? 1 : 0;
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
        finally
        {
            if (!registry.HasExited)
            {
                registry.Kill(entireProcessTree: true);
                await registry.WaitForExitAsync();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(double Rate, double[] Latencies, int Wrong)> RunKindAsync(HttpClient http, string path, JsonObject review, int warnings, int count, int concurrency)
    {
        var latencies = new double[count];
        var wrong = 0;
        var template = review.ToJsonString();
        var started = Stopwatch.StartNew();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            var uid = Guid.NewGuid().ToString();
            var body = template.Replace("\"uid\":\"bench-uid\"", $"\"uid\":\"{uid}\"", StringComparison.Ordinal);
            var at = Stopwatch.GetTimestamp();
            using var content = new StringContent(body, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(path, content, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            latencies[i] = Stopwatch.GetElapsedTime(at).TotalMilliseconds;
            var answer = response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(text)?["response"] : null;
            var expectedUid = path == FloorPath ? "bench-floor" : uid;
            if (answer?["uid"]?.GetValue<string>() != expectedUid || (answer["warnings"] as JsonArray)?.Count is { } n && n != warnings || (warnings > 0 && answer["warnings"] is null))
            {
                Interlocked.Increment(ref wrong);
            }
        });
        started.Stop();
        Array.Sort(latencies);
        return (count / started.Elapsed.TotalSeconds, latencies, wrong);
    }

    private static JsonObject PodReview(string image) => (JsonObject)JsonNode.Parse($$$$$"""
        {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"bench-uid",
         "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
         "requestKind":{"group":"","version":"v1","kind":"Pod"},"requestResource":{"group":"","version":"v1","resource":"pods"},
         "name":"web","namespace":"shop","operation":"CREATE","userInfo":{"username":"alice@example.com","groups":["system:authenticated"]},
         "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","labels":{"app":"web"}},
           "spec":{"containers":[{"name":"web","image":"{{{{{image}}}}}","imagePullPolicy":"IfNotPresent","resources":{}}],
             "restartPolicy":"Always","serviceAccountName":"default","dnsPolicy":"ClusterFirst","terminationGracePeriodSeconds":30}},
         "oldObject":null,"options":{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"},"dryRun":false}}
        """)!;

    private static JsonObject DeploymentReview(string oldImage, string newImage, string sidecar)
    {
        JsonObject Deployment(string image) => (JsonObject)JsonNode.Parse($$$$$"""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","labels":{"app":"web"}},
             "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
               "spec":{"containers":[{"name":"web","image":"{{{{{image}}}}}","resources":{}},{"name":"sidecar","image":"{{{{{sidecar}}}}}","resources":{}}],
                 "restartPolicy":"Always","dnsPolicy":"ClusterFirst"}}}}
            """)!;
        return new JsonObject
        {
            ["apiVersion"] = "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["request"] = new JsonObject
            {
                ["uid"] = "bench-uid",
                ["kind"] = new JsonObject { ["group"] = "apps", ["version"] = "v1", ["kind"] = "Deployment" },
                ["resource"] = new JsonObject { ["group"] = "apps", ["version"] = "v1", ["resource"] = "deployments" },
                ["name"] = "web",
                ["namespace"] = "shop",
                ["operation"] = "UPDATE",
                ["userInfo"] = new JsonObject { ["username"] = "alice@example.com" },
                ["object"] = Deployment(newImage),
                ["oldObject"] = Deployment(oldImage),
                ["dryRun"] = true,
            },
        };
    }

    /// <summary>The floor: reads the body and answers a fixed review, before any of the bot's middleware.</summary>
    private sealed class Floor : IStartupFilter
    {
        private static readonly byte[] Answer = """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"bench-floor","allowed":true}}"""u8.ToArray();

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path == FloorPath)
                {
                    await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
                    context.Response.ContentType = "application/json";
                    await context.Response.Body.WriteAsync(Answer, context.RequestAborted);
                    return;
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }

    private static Process StartRegistry(string dir, int port, StringBuilder log)
    {
        Directory.CreateDirectory(Path.Combine(dir, "storage"));
        var config = Path.Combine(dir, "registry.yml");
        File.WriteAllText(config, $"""
            version: 0.1
            log:
              level: info
              formatter: text
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {Path.Combine(dir, "storage")}
            http:
              addr: 127.0.0.1:{port}
            """);
        var process = Process.Start(new ProcessStartInfo("/usr/bin/docker-registry", ["serve", config]) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("docker-registry did not start");
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return process;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.AppendLine(line);
            }
        }
    }

    private static int AccessLines(StringBuilder log)
    {
        lock (log)
        {
            return AccessLine().Count(log.ToString());
        }
    }

    private static (X509Certificate2 Ca, string CertFile, string KeyFile) Certificates(string dir)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=admission-load CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
        var certFile = Path.Combine(dir, "tls.crt");
        var keyFile = Path.Combine(dir, "tls.key");
        File.WriteAllText(certFile, leaf.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (ca, certFile, keyFile);
    }

    private static HttpClient Client(Uri baseAddress, X509Certificate2 ca, int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                return certificate is not null && chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            },
        },
    })
    { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    [GeneratedRegex("\"(GET|HEAD) /v2/[^\"]* HTTP/[0-9.]+\"")]
    private static partial Regex AccessLine();
}
