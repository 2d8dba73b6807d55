using System.Collections.Concurrent;

namespace ChatOpsPull.Registry;

/// <summary>
/// Bearer tokens from registry token services, kept per (realm, service, scope, credential fingerprint) until shortly
/// before they expire (<c>expires_in</c>, 60 s when absent, counted from <c>issued_at</c> when given). Tokens live only in
/// memory and are never logged.
/// </summary>
public sealed class RegistryTokenCache(TimeProvider time)
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset ExpiresAt)> _tokens = new(StringComparer.Ordinal);

    public int Count => _tokens.Count;

    public static string Key(string realm, string? service, string scope, RegistryCredentials? credentials) =>
        string.Join('|', realm, service ?? string.Empty, scope, credentials?.Fingerprint ?? "anonymous");

    public bool TryGet(string key, out string token, out DateTimeOffset expiresAt)
    {
        if (_tokens.TryGetValue(key, out var entry) && entry.ExpiresAt - Margin > time.GetUtcNow())
        {
            (token, expiresAt) = entry;
            return true;
        }

        _tokens.TryRemove(key, out _);
        token = string.Empty;
        expiresAt = default;
        return false;
    }

    public void Put(string key, string token, DateTimeOffset expiresAt)
    {
        if (_tokens.Count > 10_000)
        {
            var now = time.GetUtcNow();
            foreach (var stale in _tokens.Where(t => t.Value.ExpiresAt <= now).Select(t => t.Key).ToList())
            {
                _tokens.TryRemove(stale, out _);
            }
        }

        _tokens[key] = (token, expiresAt);
    }

    public void Remove(string key) => _tokens.TryRemove(key, out _);
}
