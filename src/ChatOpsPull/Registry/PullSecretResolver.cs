using System.Text;
using System.Text.Json;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Images;
using k8s.Models;

namespace ChatOpsPull.Registry;

/// <summary>
/// Which credentials kubelet would use to pull an image, from the pod's effective pull secrets (the pod's
/// <c>imagePullSecrets</c>, or its ServiceAccount's when the pod has none), with the reasons when none fit.
/// Reproduces kubelet (pkg/credentialprovider/secrets, keyring.go, config.go): only secrets of type
/// <c>kubernetes.io/dockerconfigjson</c> (key <c>.dockerconfigjson</c>) and <c>kubernetes.io/dockercfg</c> (key
/// <c>.dockercfg</c>, no "auths" wrapper) are read; entries give username/password or base64 <c>auth</c>
/// (<c>identitytoken</c> and <c>registrytoken</c> are not passed on by kubelet); every matching entry is tried in
/// order; a secret whose JSON kubelet cannot read fails every pull of the pod.
/// Node-level credentials (kubelet's config.json, credential provider plugins) are not visible from here.
/// </summary>
public sealed class PullSecretResolver
{
    public const string DockerConfigJsonType = "kubernetes.io/dockerconfigjson";
    public const string DockerConfigJsonKey = ".dockerconfigjson";
    public const string DockerCfgType = "kubernetes.io/dockercfg";
    public const string DockerCfgKey = ".dockercfg";

    public PullSecretResolution Resolve(ImageReference image, IReadOnlyList<V1Secret> secrets)
    {
        var lookupName = image.Name;
        var findings = new List<PullSecretFinding>();
        var entries = new List<KeyringEntry>();
        foreach (var secret in secrets)
        {
            var name = SecretName(secret);
            var type = secret.Type ?? "Opaque";
            var data = secret.Data ?? new Dictionary<string, byte[]>();
            byte[]? bytes;
            bool legacy;
            if (type == DockerConfigJsonType && data.TryGetValue(DockerConfigJsonKey, out bytes) && bytes is { Length: > 0 })
            {
                legacy = false;
            }
            else if (type == DockerCfgType && data.TryGetValue(DockerCfgKey, out bytes) && bytes is { Length: > 0 })
            {
                legacy = true;
            }
            else
            {
                findings.Add(new PullSecretFinding(name, PullSecretFindingKind.Ignored, WhyIgnored(type, data)));
                continue;
            }

            if (!TryReadDockerConfig(bytes, legacy, out var config, out var error))
            {
                // secretsToTrackedDockerConfigs returns the error: kubelet builds no keyring and the pull fails.
                findings.Add(new PullSecretFinding(name, PullSecretFindingKind.Unreadable, error));
                return new PullSecretResolution(image, lookupName, [], findings, $"kubelet cannot read secret {name}: {error}");
            }

            if (config.Count == 0)
            {
                findings.Add(new PullSecretFinding(name, PullSecretFindingKind.NoEntries, $"secret {name} has no registry entries"));
                continue;
            }

            foreach (var (authsKey, entry) in config)
            {
                var key = DockerKeyring.KeyringKey(authsKey);
                if (key is null)
                {
                    findings.Add(new PullSecretFinding(name, PullSecretFindingKind.InvalidEntry, $"auths key \"{authsKey}\" in secret {name} is not a valid URL; kubelet ignores it"));
                    continue;
                }

                entries.Add(new KeyringEntry(name, authsKey, key, entry));
            }
        }

        // BasicDockerKeyring: one index of distinct keys over all secrets, reverse-sorted; for each matching key, its
        // credentials in the order the secrets were added.
        var index = entries.Select(e => e.Key).Distinct(StringComparer.Ordinal).OrderDescending(StringComparer.Ordinal).ToList();
        var matches = new List<PullSecretMatch>();
        var misses = new List<string>();
        foreach (var key in index)
        {
            if (DockerKeyring.Matches(key, lookupName, out var whyNot))
            {
                var how = DockerKeyring.HasWildcard(key) ? "wildcard host" : key.Contains('/', StringComparison.Ordinal) ? "host and path prefix" : "host";
                matches.AddRange(entries.Where(e => e.Key == key).Select(e => e.ToMatch(how)));
            }
            else
            {
                misses.Add($"\"{key}\": {whyNot}");
            }
        }

        if (matches.Count == 0 && DockerKeyring.IsDefaultRegistryMatch(lookupName))
        {
            matches.AddRange(entries.Where(e => e.Key == DockerKeyring.DefaultRegistryHost).Select(e => e.ToMatch("Docker Hub default (index.docker.io)")));
        }

        foreach (var group in entries.GroupBy(e => e.Secret))
        {
            var used = matches.Where(m => m.SecretName == group.Key).ToList();
            findings.Add(used.Count > 0
                ? new PullSecretFinding(group.Key, PullSecretFindingKind.Matched, $"secret {group.Key}: {string.Join(", ", used.Select(m => $"\"{m.AuthsKey}\" ({m.MatchedBy})"))} match {image.Domain}")
                : new PullSecretFinding(group.Key, PullSecretFindingKind.NoMatch, $"secret {group.Key} has auths for {string.Join(", ", group.Select(e => e.AuthsKey).Distinct().Take(5))} but the image is on {image.Domain}"));
        }

        return new PullSecretResolution(image, lookupName, matches, findings, null) { Misses = misses };
    }

    private static string WhyIgnored(string type, IDictionary<string, byte[]> data)
    {
        var hasJson = data.ContainsKey(DockerConfigJsonKey);
        var hasCfg = data.ContainsKey(DockerCfgKey);
        return type switch
        {
            DockerConfigJsonType => hasJson ? "its .dockerconfigjson is empty" : "it has no .dockerconfigjson key",
            DockerCfgType => hasCfg ? "its .dockercfg is empty" : "it has no .dockercfg key",
            _ when hasJson => $"it is type {type}, but kubelet reads .dockerconfigjson only from type {DockerConfigJsonType}",
            _ when hasCfg => $"it is type {type}, but kubelet reads .dockercfg only from type {DockerCfgType}",
            _ => $"it is type {type} and holds no docker config (kubelet needs type {DockerConfigJsonType} with a .dockerconfigjson key)",
        };
    }

    private static string SecretName(V1Secret secret)
    {
        var ns = secret.Metadata?.NamespaceProperty;
        var name = secret.Metadata?.Name ?? "(unnamed)";
        return string.IsNullOrEmpty(ns) ? name : ns + "/" + name;
    }

    /// <summary>
    /// Reads a docker config the way Go's encoding/json reads it into kubelet's types: field names match without
    /// regard to case, a later duplicate wins, a wrong JSON type or a bad base64 <c>auth</c> is an error for the whole secret.
    /// </summary>
    internal static bool TryReadDockerConfig(byte[] bytes, bool legacy, out List<(string Key, DockerConfigEntry Entry)> config, out string error)
    {
        config = [];
        error = string.Empty;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = false, MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            error = $"its JSON does not parse ({FirstSentence(e.Message)})";
            return false;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Null)
            {
                return true;
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                error = $"its JSON is {Article(root.ValueKind)}, not an object";
                return false;
            }

            var auths = root;
            if (!legacy)
            {
                JsonElement? found = null;
                foreach (var property in root.EnumerateObject())
                {
                    if (string.Equals(property.Name, "auths", StringComparison.OrdinalIgnoreCase))
                    {
                        found = property.Value;
                    }
                }

                if (found is not { } a || a.ValueKind == JsonValueKind.Null)
                {
                    return true;
                }

                if (a.ValueKind != JsonValueKind.Object)
                {
                    error = $"its \"auths\" is {Article(a.ValueKind)}, not an object";
                    return false;
                }

                auths = a;
            }

            var byKey = new Dictionary<string, DockerConfigEntry>(StringComparer.Ordinal);
            var order = new List<string>();
            foreach (var property in auths.EnumerateObject())
            {
                if (!TryReadEntry(property.Name, property.Value, out var entry, out error))
                {
                    return false;
                }

                if (byKey.TryAdd(property.Name, entry))
                {
                    order.Add(property.Name);
                }
                else
                {
                    byKey[property.Name] = entry;
                }
            }

            config = order.Select(k => (k, byKey[k])).ToList();
            return true;
        }
    }

    private static bool TryReadEntry(string key, JsonElement value, out DockerConfigEntry entry, out string error)
    {
        entry = new DockerConfigEntry(null, null, null, null, null, null);
        error = string.Empty;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            error = $"the entry for \"{key}\" is {Article(value.ValueKind)}, not an object";
            return false;
        }

        string? username = null, password = null, email = null, auth = null, identityToken = null, registryToken = null;
        foreach (var property in value.EnumerateObject())
        {
            var field = property.Name.ToLowerInvariant();
            if (field is not ("username" or "password" or "email" or "auth" or "identitytoken" or "registrytoken"))
            {
                continue;
            }

            if (property.Value.ValueKind is not JsonValueKind.String and not JsonValueKind.Null)
            {
                error = $"\"{property.Name}\" of the entry for \"{key}\" is {Article(property.Value.ValueKind)}, not a string";
                return false;
            }

            var text = property.Value.ValueKind == JsonValueKind.Null ? null : property.Value.GetString();
            switch (field)
            {
                case "username": username = text; break;
                case "password": password = text; break;
                case "email": email = text; break;
                case "auth": auth = text; break;
                case "identitytoken": identityToken = text; break;
                default: registryToken = text; break;
            }
        }

        var authDecoded = false;
        if (!string.IsNullOrEmpty(auth))
        {
            if (!TryDecodeAuth(auth, out var user, out var pass, out error))
            {
                error = $"the \"auth\" of the entry for \"{key}\" {error}";
                return false;
            }

            username = user;
            password = pass;
            authDecoded = true;
        }

        entry = new DockerConfigEntry(username, password, email, identityToken, registryToken, authDecoded);
        return true;
    }

    /// <summary>kubelet's decodeDockerConfigFieldAuth: padded base64 when it ends with '=', unpadded otherwise; "user:password".</summary>
    private static bool TryDecodeAuth(string field, out string username, out string password, out string error)
    {
        username = password = error = string.Empty;

        // Go's base64 skips '\r' and '\n' but nothing else; the padded decoder needs whole quads, the unpadded one no '='.
        var cleaned = field.Replace("\r", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal);
        var padded = field.Trim().EndsWith('=');
        var alphabetOk = cleaned.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' || padded && c == '=');
        if (!alphabetOk || (padded ? cleaned.Length % 4 != 0 : cleaned.Length % 4 == 1))
        {
            error = "is not valid base64";
            return false;
        }

        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(padded ? cleaned : cleaned + new string('=', (4 - cleaned.Length % 4) % 4));
        }
        catch (FormatException)
        {
            error = "is not valid base64";
            return false;
        }

        var text = Encoding.UTF8.GetString(decoded);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            error = "must be base64(username:password) and has no ':' after decoding";
            return false;
        }

        username = text[..colon];
        password = text[(colon + 1)..];
        return true;
    }

    private static string Article(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Number => "a number",
        JsonValueKind.String => "a string",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message.TrimEnd('.');
    }

    internal sealed record DockerConfigEntry(string? Username, string? Password, string? Email, string? IdentityToken, string? RegistryToken, bool? FromAuthField);

    private sealed record KeyringEntry(string Secret, string AuthsKey, string Key, DockerConfigEntry Entry)
    {
        public PullSecretMatch ToMatch(string matchedBy)
        {
            var notes = new List<string>();
            var source = $"secret {Secret}, auths key \"{AuthsKey}\"";
            RegistryCredentials? credentials = null;
            if (!string.IsNullOrEmpty(Entry.Username) || !string.IsNullOrEmpty(Entry.Password))
            {
                credentials = RegistryCredentials.FromUsernamePassword(Entry.Username ?? string.Empty, Entry.Password ?? string.Empty, source);
            }
            else
            {
                notes.Add("the entry has no username/password or auth; kubelet passes empty credentials and the runtime pulls anonymously"
                          + (Entry.IdentityToken is null && Entry.RegistryToken is null ? " (a docker login with a credential store leaves entries like this)" : string.Empty));
            }

            if (Entry.IdentityToken is not null)
            {
                notes.Add("the entry has an identitytoken, which kubelet does not pass from pull secrets to the runtime");
            }

            if (Entry.RegistryToken is not null)
            {
                notes.Add("the entry has a registrytoken, which kubelet does not pass from pull secrets to the runtime");
            }

            RegistryCredentials? tokenCredentials = Entry.RegistryToken is not null
                ? RegistryCredentials.FromRegistryToken(Entry.RegistryToken, source)
                : Entry.IdentityToken is not null ? RegistryCredentials.FromIdentityToken(Entry.IdentityToken, Entry.Username, source) : null;
            return new PullSecretMatch(Secret, AuthsKey, Key, matchedBy, credentials, notes) { DockerCliCredentials = tokenCredentials ?? credentials };
        }
    }
}

public enum PullSecretFindingKind
{
    /// <summary>The secret has an entry kubelet uses for this image.</summary>
    Matched,

    /// <summary>The secret is readable but no entry fits the image's registry.</summary>
    NoMatch,

    /// <summary>kubelet skips the secret (wrong type, missing or empty key).</summary>
    Ignored,

    /// <summary>kubelet cannot parse the secret and fails the pull.</summary>
    Unreadable,

    /// <summary>The secret is readable and has no entries.</summary>
    NoEntries,

    /// <summary>An auths key kubelet ignores because it is not a valid URL.</summary>
    InvalidEntry,
}

/// <param name="Secret">"namespace/name".</param>
public sealed record PullSecretFinding(string Secret, PullSecretFindingKind Kind, string Detail);

/// <summary>One credential kubelet would try, in order.</summary>
/// <param name="SecretName">"namespace/name" of the secret it came from.</param>
/// <param name="AuthsKey">The key as written in the secret ("https://index.docker.io/v1/").</param>
/// <param name="KeyringKey">The key as kubelet's keyring holds it ("index.docker.io").</param>
/// <param name="MatchedBy">"host", "host and path prefix", "wildcard host", "Docker Hub default (index.docker.io)".</param>
/// <param name="Credentials">What kubelet passes to the runtime; null when the entry gives no username/password (pulled anonymously).</param>
/// <param name="Notes">What to know about the entry (ignored identitytoken, empty entry).</param>
public sealed record PullSecretMatch(
    string SecretName,
    string AuthsKey,
    string KeyringKey,
    string MatchedBy,
    RegistryCredentials? Credentials,
    IReadOnlyList<string> Notes)
{
    /// <summary>What the docker CLI would use from the same entry (identitytoken / registrytoken included), for comparison.</summary>
    public RegistryCredentials? DockerCliCredentials { get; init; }
}

/// <summary>The outcome of resolving pull secrets for one image.</summary>
/// <param name="LookupName">The name kubelet's keyring looks up: "docker.io/library/nginx".</param>
/// <param name="Matches">Credentials kubelet tries, in its order; empty means an anonymous pull.</param>
/// <param name="KeyringError">Set when kubelet cannot build the keyring at all (a secret it cannot read): every pull fails.</param>
public sealed record PullSecretResolution(
    ImageReference Image,
    string LookupName,
    IReadOnlyList<PullSecretMatch> Matches,
    IReadOnlyList<PullSecretFinding> Findings,
    string? KeyringError)
{
    /// <summary>Each keyring key that did not match and why ("\"ghcr.io\": different host").</summary>
    public IReadOnlyList<string> Misses { get; init; } = [];

    /// <summary>One line: which credentials will be tried, or why none fit.</summary>
    public string Summary
    {
        get
        {
            if (KeyringError is not null)
            {
                return KeyringError + "; kubelet fails every image pull of this pod until the secret is fixed";
            }

            if (Matches.Count > 0)
            {
                return Matches.Count == 1
                    ? $"kubelet uses {Describe(Matches[0])} for {Image.Domain}"
                    : $"kubelet tries {Matches.Count} credentials for {Image.Domain} in order: {string.Join("; ", Matches.Select(Describe))}";
            }

            var noMatch = Findings.Where(f => f.Kind == PullSecretFindingKind.NoMatch).Select(f => f.Detail).ToList();
            if (noMatch.Count > 0)
            {
                return string.Join("; ", noMatch) + " — kubelet pulls anonymously";
            }

            var ignored = Findings.Where(f => f.Kind is PullSecretFindingKind.Ignored or PullSecretFindingKind.NoEntries).ToList();
            return ignored.Count > 0
                ? string.Join("; ", ignored.Select(f => $"secret {f.Secret} is not used: {f.Detail}")) + " — kubelet pulls anonymously"
                : "the pod has no image pull secrets — kubelet pulls anonymously (node-level credentials are not visible to the bot)";
        }
    }

    /// <summary>Evidence lines for a diagnosis card: one per secret, never a secret value.</summary>
    public IReadOnlyList<Evidence> ToEvidence()
    {
        var evidence = new List<Evidence>();
        if (Findings.Count == 0)
        {
            evidence.Add(new Evidence("pull secrets", EvidenceOutcome.Info, "the pod has no image pull secrets (node-level credentials are not visible to the bot)"));
        }

        foreach (var finding in Findings)
        {
            var outcome = finding.Kind switch
            {
                PullSecretFindingKind.Matched => EvidenceOutcome.Passed,
                PullSecretFindingKind.NoMatch => EvidenceOutcome.Failed,
                PullSecretFindingKind.Ignored => EvidenceOutcome.Failed,
                PullSecretFindingKind.Unreadable => EvidenceOutcome.Failed,
                PullSecretFindingKind.NoEntries => EvidenceOutcome.Failed,
                PullSecretFindingKind.InvalidEntry => EvidenceOutcome.Info,
                _ => throw new InvalidOperationException($"unknown finding {finding.Kind}"),
            };
            var detail = finding.Kind == PullSecretFindingKind.Ignored ? $"kubelet skips secret {finding.Secret}: {finding.Detail}" : finding.Detail;
            evidence.Add(new Evidence($"pull secret {finding.Secret}", outcome, detail));
        }

        foreach (var match in Matches)
        {
            foreach (var note in match.Notes)
            {
                evidence.Add(new Evidence($"pull secret {match.SecretName}", EvidenceOutcome.Info, $"\"{match.AuthsKey}\": {note}"));
            }
        }

        return evidence;
    }

    private static string Describe(PullSecretMatch m) =>
        $"secret {m.SecretName} key \"{m.AuthsKey}\"" + (m.Credentials?.Username is { Length: > 0 } user ? $" (user {user})" : string.Empty);
}
