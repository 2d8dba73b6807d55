using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Registry;

/// <summary>TLS and timeout behaviour against small local servers: a real TLS handshake with an expired certificate, and servers that never answer.</summary>
public sealed class RegistryProbeTests
{
    private static ServiceProvider Services(Action<RegistryOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRegistry(new ConfigurationBuilder().Build());
        services.Configure(configure);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Expired_certificate_is_named_with_its_expiry_date()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=expired.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var notAfter = new DateTimeOffset(2024, 3, 1, 12, 0, 0, TimeSpan.Zero);
        using var certificate = request.CreateSelfSigned(notAfter.AddYears(-1), notAfter);
        var caFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(caFile, certificate.ExportCertificatePem());
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = ServeTlsAsync(listener, X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null));
        try
        {
            // Generous: the first chain build loads the system trust store, which is slow on a busy machine.
            await using var services = Services(o =>
            {
                o.ConnectTimeout = TimeSpan.FromSeconds(20);
                o.Hosts.Add(new RegistryHostOptions { Host = $"127.0.0.1:{port}", CaFiles = [caFile] });
            });

            var result = await services.GetRequiredService<RegistryChecker>().CheckAsync(ImageReference.Parse($"127.0.0.1:{port}/team/app:1.0"), null, null, CancellationToken.None);

            var explained = result.Summary + "\n" + string.Join("\n", result.Evidence.Select(e => $"{e.Outcome} {e.Check}: {e.Detail} ({e.Duration})"));
            Assert.True(result.Cause == PullCause.Tls, explained);
            Assert.Contains("certificate expired on 2024-03-01 12:00 UTC", result.Summary, StringComparison.Ordinal);
        }
        finally
        {
            listener.Stop();
            await serving;
            File.Delete(caFile);
        }
    }

    [Fact]
    public async Task A_server_that_never_answers_the_tls_hello_does_not_hang_the_check()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var services = Services(o => o.ConnectTimeout = TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        var result = await services.GetRequiredService<RegistryChecker>().CheckAsync(ImageReference.Parse($"127.0.0.1:{port}/team/app:1.0"), null, null, CancellationToken.None);

        Assert.Equal(PullCause.Network, result.Cause);
        Assert.Contains("no TLS answer within 0.3 s", result.Summary, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task A_registry_that_accepts_but_never_answers_http_does_not_hang_the_check()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var services = Services(o =>
        {
            o.RequestTimeout = TimeSpan.FromMilliseconds(500);
            o.Hosts.Add(new RegistryHostOptions { Host = $"127.0.0.1:{port}", PlainHttp = true });
        });
        var watch = Stopwatch.StartNew();

        var result = await services.GetRequiredService<RegistryChecker>().CheckAsync(ImageReference.Parse($"127.0.0.1:{port}/team/app:1.0"), null, null, CancellationToken.None);

        Assert.Equal(PullCause.Network, result.Cause);
        Assert.Contains("did not answer within", result.Summary, StringComparison.Ordinal);
        Assert.Contains(result.Evidence, e => e.Check == $"TCP 127.0.0.1:{port}" && e.Outcome == EvidenceOutcome.Passed);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    private static async Task ServeTlsAsync(TcpListener listener, X509Certificate2 certificate)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                await using var ssl = new SslStream(client.GetStream());
                try
                {
                    await ssl.AuthenticateAsServerAsync(certificate);
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
                {
                    // the client refused the expired certificate, as it should
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // listener stopped (InvalidOperationException: Accept after Stop)
        }
        finally
        {
            certificate.Dispose();
        }
    }
}
