using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Images;
using k8s.Models;

namespace ChatOpsPull.Registry;

/// <summary>
/// Which credentials kubelet would use to pull an image, from the pod's effective pull secrets (the pod's
/// <c>imagePullSecrets</c>, or its ServiceAccount's when the pod has none), with the reasons when none fit.
/// Reproduces kubelet (kubernetes/kubernetes pkg/credentialprovider): secrets/secrets.go
/// <c>secretsToTrackedDockerConfigs</c> reads only secrets of type <c>kubernetes.io/dockerconfigjson</c> (key
/// <c>.dockerconfigjson</c>) and <c>kubernetes.io/dockercfg</c> (key <c>.dockercfg</c>, no "auths" wrapper), all into one
/// keyring; config.go reads entries (<see cref="DockerConfigReader"/>: username/password or base64 <c>auth</c>;
/// <c>identitytoken</c> and <c>registrytoken</c> are not read at all); keyring.go <c>BasicDockerKeyring.Add</c>/<c>Lookup</c>
/// match keys (<see cref="DockerKeyring"/>) against the name kubelet looks up (<see cref="ImageReference.KubeletName"/>);
/// every matching entry is tried in order; a secret whose JSON kubelet cannot read fails every pull of the pod.
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
        // The name kubelet passes to keyring.Lookup: the repository of distribution/reference ParseNormalizedNamed
        // (pkg/util/parsers ParseImageName, "repoToPull"), with Docker Hub's API hosts kept as written.
        var lookupName = image.KubeletName;
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

            if (!DockerConfigReader.TryRead(bytes, legacy, out var config, out var error))
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

        // keyring.go BasicDockerKeyring.Add: one index of distinct keys over all secrets, reverse-sorted; Lookup: for
        // each matching key, its credentials in the order the secrets were added; then the default-registry fallback.
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
            var keys = string.Join(", ", group.Select(e => e.AuthsKey).Distinct().Take(5));
            findings.Add(used.Count > 0
                ? new PullSecretFinding(group.Key, PullSecretFindingKind.Matched, $"secret {group.Key}: {string.Join(", ", used.Select(m => $"\"{m.AuthsKey}\" ({m.MatchedBy})"))} match {image.Domain}")
                : image.WrittenDomain is { } written && group.Any(e => DockerKeyring.IsDockerHubKey(e.Key))
                    ? new PullSecretFinding(group.Key, PullSecretFindingKind.NoMatch, WrittenApiHostMiss(group.Key, keys, written, lookupName))
                    : new PullSecretFinding(group.Key, PullSecretFindingKind.NoMatch, $"secret {group.Key} has auths for {keys} but the image is on {image.Domain}"));
        }

        return new PullSecretResolution(image, lookupName, matches, findings, null) { Misses = misses };
    }

    /// <summary>
    /// The image names Docker Hub by an API host ("registry-1.docker.io/nginx"): kubelet keeps that host, so Docker Hub
    /// keys neither match it (keyring.go URLsMatch: "docker.io" has two labels, "index.docker.io" another first label)
    /// nor reach it through the default-registry fallback (isDefaultRegistryMatch lists docker.io and index.docker.io only).
    /// </summary>
    private static string WrittenApiHostMiss(string secret, string keys, string written, string lookupName) =>
        $"secret {secret} has auths for {keys}, but kubelet sends no credentials for this image: it looks them up under "
        + $"\"{lookupName}\", with Docker Hub's API host {written} as written, and Docker Hub keys (docker.io, index.docker.io) "
        + $"match only images written as docker.io/…, index.docker.io/… or without a registry; write the image as "
        + $"{DockerHub.Domain}/… or add an auths entry for {written}";

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

            foreach (var ignored in Entry.IgnoredFields)
            {
                notes.Add($"the entry's {ignored}; kubelet reads only username, password, email and auth, so it ignores it (the docker CLI would refuse this entry)");
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
/// <param name="LookupName">The name kubelet's keyring looks up: "docker.io/library/nginx"; "registry-1.docker.io/nginx" as written.</param>
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

    private static string Describe(PullSecretMatch m) => $"secret {m.SecretName} key \"{m.AuthsKey}\"";
}
