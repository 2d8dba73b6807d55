using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>The verdict on a registry's TLS certificate, in the words Go's crypto/x509 uses (what kubelet and containerd print).</summary>
/// <param name="Detail">"certificate signed by unknown authority (issuer CN=…)", "certificate is valid for a, b, not c", "certificate expired on …".</param>
public sealed record TlsVerdict(bool Trusted, string Detail);

/// <summary>
/// Decides whether to trust a registry's certificate: the system roots, plus the CA files configured for that registry
/// (containerd hosts.toml <c>ca</c>), or anything when <c>SkipVerify</c> is set. The network probe and the HTTP client
/// both ask here, so they never disagree.
/// </summary>
public sealed class RegistryTrust
{
    private readonly Dictionary<string, (X509Certificate2Collection Roots, bool SkipVerify)> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _time;

    public RegistryTrust(IOptions<RegistryOptions> options, TimeProvider time)
    {
        _time = time;
        foreach (var host in options.Value.Hosts)
        {
            var roots = new X509Certificate2Collection();
            foreach (var file in host.CaFiles)
            {
                roots.ImportFromPemFile(file);
            }

            _hosts[host.Host] = (roots, host.SkipVerify);
        }
    }

    /// <summary>Whether extra trust is configured for this registry domain (so it needs its own connection settings).</summary>
    public bool HasCustomTrust(string domain) => _hosts.ContainsKey(domain);

    /// <param name="domain">The registry domain as image names write it (the configuration key).</param>
    /// <param name="host">The host name connected to (what the certificate must name).</param>
    public TlsVerdict Evaluate(string domain, string host, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return new TlsVerdict(false, "the server sent no certificate");
        }

        var cert = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        _hosts.TryGetValue(domain, out var custom);
        var chainProblem = errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors) ? ChainProblem(cert, chain) : null;
        if (chainProblem is not null && custom.Roots is { Count: > 0 } && ChainProblemWithRoots(cert, chain, custom.Roots) is null)
        {
            chainProblem = null;
        }

        var nameProblem = errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) ? NameProblem(cert, host) : null;
        var problem = chainProblem ?? nameProblem;
        if (problem is null)
        {
            return new TlsVerdict(true, Describe(cert));
        }

        return custom.SkipVerify
            ? new TlsVerdict(true, $"{problem} — accepted because SkipVerify is set for {domain}")
            : new TlsVerdict(false, problem);
    }

    /// <summary>"certificate CN=registry issued by CN=Test CA, valid until 2026-05-01".</summary>
    public static string Describe(X509Certificate2 cert) =>
        $"certificate {RegistryText.Line(cert.GetNameInfo(X509NameType.SimpleName, false), 80)} issued by {RegistryText.Line(cert.GetNameInfo(X509NameType.SimpleName, true), 80)}, valid until {cert.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    private string? ChainProblem(X509Certificate2 cert, X509Chain? chain)
    {
        var statuses = chain?.ChainStatus.Select(s => s.Status).ToList() ?? [];
        if (statuses.Count == 0)
        {
            using var fresh = new X509Chain();
            fresh.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            fresh.Build(cert);
            statuses = fresh.ChainStatus.Select(s => s.Status).ToList();
        }

        return Explain(cert, statuses);
    }

    private string? ChainProblemWithRoots(X509Certificate2 cert, X509Chain? presented, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements.Skip(1))
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(cert) ? null : Explain(cert, chain.ChainStatus.Select(s => s.Status).ToList()) ?? "certificate chain does not verify against the configured CA files";
    }

    private string? Explain(X509Certificate2 cert, List<X509ChainStatusFlags> statuses)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var notAfter = cert.NotAfter.ToUniversalTime();
        var notBefore = cert.NotBefore.ToUniversalTime();
        if (statuses.Contains(X509ChainStatusFlags.NotTimeValid) || notAfter < now || notBefore > now)
        {
            return notAfter < now
                ? $"certificate expired on {cert.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}"
                : notBefore > now
                    ? $"certificate is not valid before {cert.NotBefore.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}"
                    : "a certificate in the chain has expired or is not yet valid";
        }

        if (statuses.Any(s => s is X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain))
        {
            return $"certificate signed by unknown authority (issuer {RegistryText.Line(cert.Issuer, 120)})";
        }

        if (statuses.Contains(X509ChainStatusFlags.Revoked))
        {
            return "certificate has been revoked";
        }

        var bad = statuses.Where(s => s != X509ChainStatusFlags.NoError && s != X509ChainStatusFlags.RevocationStatusUnknown && s != X509ChainStatusFlags.OfflineRevocation).ToList();
        return bad.Count == 0 ? null : "certificate chain is not valid: " + string.Join(", ", bad);
    }

    private static string NameProblem(X509Certificate2 cert, string host)
    {
        var names = new List<string>();
        foreach (var extension in cert.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                names.AddRange(san.EnumerateIPAddresses().Select(ip => ip.ToString()));
            }
        }

        if (names.Count == 0)
        {
            var cn = cert.GetNameInfo(X509NameType.SimpleName, false);
            return $"certificate relies on the legacy Common Name field ({RegistryText.Line(cn, 80)}) and has no Subject Alternative Names; it is not valid for {host}";
        }

        return $"certificate is valid for {RegistryText.Line(string.Join(", ", names.Distinct().Take(8)), 160)}, not {host}";
    }
}
