using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Prevention;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Admission;

/// <summary>
/// The certificate the admission port presents, chosen per TLS handshake (Kestrel's ServerCertificateSelector), so a
/// renewed one is used from the next connection on without a restart. Null until there is one: the handshake then fails,
/// and the API server admits the request (failurePolicy: Ignore).
/// </summary>
public sealed partial class AdmissionCertificate(IOptionsMonitor<AdmissionOptions> options, TimeProvider time, ILogger<AdmissionCertificate> log) : IDisposable
{
    /// <summary>How often the Files mode looks at the files' timestamps (a Secret volume updates them when the Secret changes).</summary>
    private static readonly TimeSpan FileCheckInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private X509Certificate2? _current;
    private DateTime _filesWrittenAt;
    private DateTimeOffset _filesCheckedAt = DateTimeOffset.MinValue;

    /// <summary>The certificate to present now.</summary>
    public X509Certificate2? Current
    {
        get
        {
            if (options.CurrentValue.Certificate == AdmissionCertificateSource.Files)
            {
                ReloadFilesIfChanged();
            }

            return Volatile.Read(ref _current);
        }
    }

    /// <summary>Self-managed mode: the CA that signed <see cref="Current"/>, which the webhook configuration must trust.</summary>
    public X509Certificate2? SelfManagedCa { get; private set; }

    /// <summary>Makes a new CA and a serving certificate for <paramref name="names"/> (DNS names or IP addresses), valid <paramref name="lifetime"/>.</summary>
    public void CreateSelfManaged(IReadOnlyList<string> names, TimeSpan lifetime)
    {
        var now = time.GetUtcNow();
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=chatopspull admission CA " + now.ToUnixTimeSeconds(), caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now + lifetime);

        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256); // kept: the serving certificate uses it for as long as it is served
        var request = new CertificateRequest("CN=" + names[0], key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var leaf = request.Create(ca, now.AddMinutes(-5), now + lifetime - TimeSpan.FromMinutes(10), RandomNumberGenerator.GetBytes(16));

        // The CA's key is dropped here: nothing else is ever signed with it, and it never leaves this process.
        var serving = leaf.CopyWithPrivateKey(key);
        lock (_lock)
        {
            var previous = _current;
            SelfManagedCa = X509CertificateLoader.LoadCertificate(ca.RawData);
            Volatile.Write(ref _current, serving);
            previous?.Dispose();
        }

        LogCreated(log, names.Count, names[0], serving.NotAfter);
    }

    /// <summary>Files mode: loads the PEM files now (at start); false when they cannot be read yet.</summary>
    public bool LoadFiles()
    {
        var settings = options.CurrentValue;
        try
        {
            var written = File.GetLastWriteTimeUtc(settings.CertificateFile);
            var loaded = X509Certificate2.CreateFromPemFile(settings.CertificateFile, settings.KeyFile);
            lock (_lock)
            {
                var previous = _current;
                Volatile.Write(ref _current, loaded);
                _filesWrittenAt = written;
                previous?.Dispose();
            }

            LogLoaded(log, settings.CertificateFile, loaded.NotAfter);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            LogUnreadable(log, settings.CertificateFile, settings.KeyFile, e.Message);
            return false;
        }
    }

    private void ReloadFilesIfChanged()
    {
        var now = time.GetUtcNow();
        if (now - _filesCheckedAt < FileCheckInterval)
        {
            return;
        }

        _filesCheckedAt = now;
        try
        {
            if (File.GetLastWriteTimeUtc(options.CurrentValue.CertificateFile) != _filesWrittenAt || Volatile.Read(ref _current) is null)
            {
                LoadFiles();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogUnreadable(log, options.CurrentValue.CertificateFile, options.CurrentValue.KeyFile, e.Message);
        }
    }

    public void Dispose()
    {
        _current?.Dispose();
        SelfManagedCa?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Admission: made a CA and a serving certificate for {Count} names ({First}, …), valid until {NotAfter:u}")]
    private static partial void LogCreated(ILogger logger, int count, string first, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admission: serving certificate {File} loaded, valid until {NotAfter:u}")]
    private static partial void LogLoaded(ILogger logger, string file, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admission: the certificate {CertificateFile} / {KeyFile} cannot be read ({Problem}); the admission port refuses TLS until it can, and the API server admits requests meanwhile")]
    private static partial void LogUnreadable(ILogger logger, string certificateFile, string keyFile, string problem);
}
