using System.Security.Cryptography;
using System.Text;

namespace ChatOpsPull.Registry;

/// <summary>
/// Credentials for one registry, as kubelet hands them to the container runtime (CRI AuthConfig):
/// username/password, an identity token (a refresh token for the registry's token service) or a registry token
/// (a bearer token sent to the registry as is). No part of them — not even the username, which for robot accounts,
/// deploy tokens and service principals is half of the credential — appears in <see cref="ToString"/>, logs, evidence,
/// cards, exception messages or cache keys; <see cref="Fingerprint"/> is a keyed hash of them. An instance lives as
/// long as the check that uses it: nothing keeps one after the check has answered.
/// </summary>
public sealed class RegistryCredentials
{
    // A per-process key: fingerprints compare within the process but cannot be brute-forced from a dump or log.
    private static readonly byte[] FingerprintKey = RandomNumberGenerator.GetBytes(32);

    private RegistryCredentials(string? username, string? password, string? identityToken, string? registryToken, string source)
    {
        Username = username;
        Password = password;
        IdentityToken = identityToken;
        RegistryToken = registryToken;
        Source = source;
        Lifetime = CredentialLifetime.Read(username, password, identityToken, registryToken);
        Fingerprint = ComputeFingerprint(username, password, identityToken, registryToken);
    }

    /// <summary>Sent to the registry and its token service only; never shown.</summary>
    internal string? Username { get; }

    /// <summary>Where they came from, for evidence: "secret shop/regcred, auths key \"ghcr.io\"".</summary>
    public string Source { get; }

    /// <summary>What kind of credential: "username/password", "identity token", "registry token".</summary>
    public string Kind => RegistryToken is not null ? "registry token" : IdentityToken is not null ? "identity token" : "username/password";

    /// <summary>Expiry read from the credential itself (JWT exp, ECR token expiration), or what is known about it.</summary>
    public CredentialLifetime? Lifetime { get; }

    /// <summary>HMAC-SHA256 (per-process key) of the secret parts, hex, 32 characters. Safe for cache keys.</summary>
    public string Fingerprint { get; }

    internal string? Password { get; }

    internal string? IdentityToken { get; }

    internal string? RegistryToken { get; }

    internal bool HasBasic => Username is not null && Password is not null;

    public static RegistryCredentials FromUsernamePassword(string username, string password, string source = "given") =>
        new(username, password, null, null, source);

    /// <summary>An identity token (docker config "identitytoken"): used as refresh_token with the token service.</summary>
    public static RegistryCredentials FromIdentityToken(string identityToken, string? username = null, string source = "given") =>
        new(username, null, identityToken, null, source);

    /// <summary>A registry token (docker config "registrytoken"): sent to the registry as the bearer token.</summary>
    public static RegistryCredentials FromRegistryToken(string registryToken, string source = "given") =>
        new(null, null, null, registryToken, source);

    /// <summary>The same credentials described as coming from elsewhere.</summary>
    public RegistryCredentials WithSource(string source) => new(Username, Password, IdentityToken, RegistryToken, source);

    /// <summary>"the username/password from secret shop/regcred, auths key \"ghcr.io\"": where they came from, never what they are.</summary>
    public override string ToString() => $"the {Kind} from {Source}";

    private static string ComputeFingerprint(params string?[] parts)
    {
        var material = string.Join('\0', parts.Select(p => p is null ? "\u0001" : p));
        var hash = HMACSHA256.HashData(FingerprintKey, Encoding.UTF8.GetBytes(material));
        return Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}
