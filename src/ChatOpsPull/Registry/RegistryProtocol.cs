using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace ChatOpsPull.Registry;

/// <summary>One challenge of a <c>WWW-Authenticate</c> header (RFC 7235): <c>Bearer realm="…",service="…",scope="…"</c>.</summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public bool IsBearer => string.Equals(Scheme, "Bearer", StringComparison.OrdinalIgnoreCase);

    public bool IsBasic => string.Equals(Scheme, "Basic", StringComparison.OrdinalIgnoreCase);

    public string? Realm => Parameters.GetValueOrDefault("realm");

    public string? Service => Parameters.GetValueOrDefault("service");

    public string? Scope => Parameters.GetValueOrDefault("scope");

    /// <summary>RFC 6750 error, e.g. "insufficient_scope", "invalid_token".</summary>
    public string? Error => Parameters.GetValueOrDefault("error");

    /// <summary>As evidence shows it: every name and value bounded and sanitized (<see cref="RegistryText"/>), since the registry wrote them.</summary>
    public override string ToString() =>
        RegistryText.Line(Scheme, 40)
        + (Parameters.Count == 0 ? string.Empty : " " + string.Join(", ", Parameters.Take(8).Select(p => $"{RegistryText.Line(p.Key, 40)}={RegistryText.Line(p.Value, 120)}")));

    /// <summary>Parses every challenge of every header value; quoted values may hold commas and escaped quotes.</summary>
    public static IReadOnlyList<AuthChallenge> Parse(IEnumerable<string> headerValues)
    {
        var result = new List<AuthChallenge>();
        foreach (var value in headerValues)
        {
            ParseOne(value, result);
        }

        return result;
    }

    private static void ParseOne(string s, List<AuthChallenge> result)
    {
        var pos = 0;
        while (pos < s.Length)
        {
            SkipSeparators(s, ref pos);
            var scheme = ReadToken(s, ref pos);
            if (scheme.Length == 0)
            {
                pos++;
                continue;
            }

            var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            while (pos < s.Length)
            {
                SkipWhitespace(s, ref pos);
                var save = pos;
                var name = ReadToken(s, ref pos);
                SkipWhitespace(s, ref pos);
                if (name.Length == 0 || pos >= s.Length || s[pos] != '=')
                {
                    pos = save;
                    break;
                }

                pos++;
                SkipWhitespace(s, ref pos);
                parameters[name] = pos < s.Length && s[pos] == '"' ? ReadQuoted(s, ref pos) : ReadToken(s, ref pos);
                SkipWhitespace(s, ref pos);
                if (pos < s.Length && s[pos] == ',')
                {
                    pos++;
                }
            }

            result.Add(new AuthChallenge(scheme, parameters));
        }
    }

    private static void SkipWhitespace(string s, ref int pos)
    {
        while (pos < s.Length && s[pos] is ' ' or '\t')
        {
            pos++;
        }
    }

    private static void SkipSeparators(string s, ref int pos)
    {
        while (pos < s.Length && s[pos] is ' ' or '\t' or ',')
        {
            pos++;
        }
    }

    private static string ReadToken(string s, ref int pos)
    {
        var start = pos;
        while (pos < s.Length && s[pos] is not (' ' or '\t' or ',' or '=' or '"'))
        {
            pos++;
        }

        return s[start..pos];
    }

    private static string ReadQuoted(string s, ref int pos)
    {
        var sb = new StringBuilder();
        pos++;
        while (pos < s.Length && s[pos] != '"')
        {
            if (s[pos] == '\\' && pos + 1 < s.Length)
            {
                pos++;
            }

            sb.Append(s[pos]);
            pos++;
        }

        pos++;
        return sb.ToString();
    }
}

/// <summary>
/// An entry of the registry's error body <c>{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}</c>, as the bot
/// may show it: the code with only code characters, the message bounded and sanitized (<see cref="RegistryText"/>).
/// </summary>
public sealed record RegistryError(string Code, string Message)
{
    public const string ManifestUnknown = "MANIFEST_UNKNOWN";
    public const string NameUnknown = "NAME_UNKNOWN";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Denied = "DENIED";
    public const string TooManyRequests = "TOOMANYREQUESTS";

    public override string ToString() => Code.Length == 0 ? Message : Message.Length == 0 ? Code : $"{Code}: {Message}";

    /// <summary>Reads the distribution error body, or the {"details":"…"} / {"error":"…"} shapes token services use.</summary>
    public static IReadOnlyList<RegistryError> Parse(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return [];
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return [];
            }

            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                return errors.EnumerateArray()
                    .Where(e => e.ValueKind == JsonValueKind.Object)
                    .Select(e => new RegistryError(RegistryText.Code(Text(e, "code")), RegistryText.Line(Text(e, "message"))))
                    .Where(e => e.Code.Length > 0 || e.Message.Length > 0)
                    .Take(4)
                    .ToList();
            }

            foreach (var name in new[] { "details", "error_description", "error", "message" })
            {
                if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    return RegistryText.Line(value.GetString()) is { Length: > 0 } message ? [new RegistryError(string.Empty, message)] : [];
                }
            }
        }
        catch (JsonException)
        {
            // not JSON: the caller shows a snippet of the body instead
        }

        return [];
    }

    private static string Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? string.Empty : string.Empty;
}

/// <summary>
/// Docker Hub's pull allowance from <c>ratelimit-limit: 100;w=21600</c> and <c>ratelimit-remaining: 76;w=21600</c>
/// (and <c>docker-ratelimit-source</c>, the IP or account it counts against).
/// </summary>
public sealed record RateLimitHeadroom(int Limit, int Remaining, TimeSpan Window, string? Source)
{
    public override string ToString() =>
        $"{Remaining} of {Limit} pulls left per {CredentialLifetime.Span(Window)}" + (Source is null ? string.Empty : $" (counted for {Source})");

    public static RateLimitHeadroom? FromHeaders(HttpResponseMessage response)
    {
        if (!TryHeader(response, "ratelimit-limit", out var limit, out var window) || !TryHeader(response, "ratelimit-remaining", out var remaining, out var remainingWindow))
        {
            return null;
        }

        var source = response.Headers.TryGetValues("docker-ratelimit-source", out var values) && RegistryText.Line(values.FirstOrDefault(), 64) is { Length: > 0 } text ? text : null;
        return new RateLimitHeadroom(limit, remaining, window ?? remainingWindow ?? TimeSpan.Zero, source);
    }

    private static bool TryHeader(HttpResponseMessage response, string name, out int value, out TimeSpan? window)
    {
        value = 0;
        window = null;
        if (!response.Headers.TryGetValues(name, out var values))
        {
            return false;
        }

        var parts = values.First().Split(';', StringSplitOptions.TrimEntries);
        if (!int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out value))
        {
            return false;
        }

        foreach (var part in parts.Skip(1))
        {
            if (part.StartsWith("w=", StringComparison.OrdinalIgnoreCase) && int.TryParse(part.AsSpan(2), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
            {
                window = TimeSpan.FromSeconds(seconds);
            }
        }

        return true;
    }
}

/// <summary>What any registry response said, beyond its body: status, error codes, challenges, rate-limit headers, time taken.</summary>
public sealed record RegistryAnswer(
    HttpStatusCode Status,
    string Reason,
    IReadOnlyList<RegistryError> Errors,
    IReadOnlyList<AuthChallenge> Challenges,
    RateLimitHeadroom? RateLimit,
    TimeSpan? RetryAfter,
    TimeSpan Duration)
{
    public int Code => (int)Status;

    /// <summary>
    /// The answer came from the registry's own host and port. When it did not (a token realm or redirect elsewhere),
    /// its error messages and reason phrase were dropped: only the status and error codes are kept.
    /// </summary>
    public bool FromRegistry { get; init; } = true;

    public bool HasError(string code) => Errors.Any(e => string.Equals(e.Code, code, StringComparison.OrdinalIgnoreCase));

    /// <summary>"404 MANIFEST_UNKNOWN: manifest unknown", "401 (Bearer realm=…)", "200 OK".</summary>
    public string Describe()
    {
        var text = $"{Code} {(Errors.Count > 0 ? string.Join("; ", Errors) : Reason)}";
        return Code == 401 && Challenges.Count > 0 && Errors.Count == 0 ? $"{text} ({Challenges[0]})" : text;
    }
}

/// <summary>The media types a manifest request accepts: Docker schema 2 manifests and lists, OCI manifests and indexes.</summary>
public static class ManifestMediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    public static readonly string[] Accepted = [OciIndex, DockerManifestList, OciManifest, DockerManifest];

    public static bool IsIndex(string? mediaType) => mediaType is OciIndex or DockerManifestList;
}
