using System.Text;
using System.Text.Json;

namespace ChatOpsPull.Registry;

/// <summary>
/// Reads a docker config (a <c>.dockerconfigjson</c> with its "auths" wrapper, or a legacy <c>.dockercfg</c> without it)
/// exactly as kubelet's Go types read it, so the bot fails a secret only where kubelet fails it:
/// kubernetes/kubernetes pkg/credentialprovider/config.go — <c>DockerConfigJSON</c> (fields "auths" and "HttpHeaders"),
/// <c>DockerConfigEntry.UnmarshalJSON</c> (through <c>dockerConfigEntryWithAuth</c>: only "username", "password",
/// "email" and "auth") and <c>decodeDockerConfigFieldAuth</c>; pkg/credentialprovider/secrets/secrets.go
/// <c>secretsToTrackedDockerConfigs</c> returns the first <c>json.Unmarshal</c> error, and kubelet then builds no keyring.
/// <para>
/// Go's encoding/json rules followed here: field names match without regard to case; a later duplicate wins, except
/// that JSON null leaves a string field as it was; a second "auths" object adds to the first (a map is reused) and a
/// null one empties it; a wrong JSON type for a field Go decodes is an error for the whole secret; fields Go's types do
/// not have — "identitytoken", "registrytoken", "serveraddress", anything else — are skipped whatever their type.
/// </para>
/// </summary>
internal static class DockerConfigReader
{
    /// <summary>Reads <paramref name="bytes"/>; on failure <paramref name="error"/> says what kubelet trips over (never a value).</summary>
    public static bool TryRead(byte[] bytes, bool legacy, out List<(string Key, DockerConfigEntry Entry)> config, out string error)
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
            // Where, not what: the parser's own message quotes the character it tripped over, which is secret content.
            error = $"its JSON does not parse (line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1})";
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

            var byKey = new Dictionary<string, DockerConfigEntry>(StringComparer.Ordinal);
            var order = new List<string>();
            if (legacy)
            {
                // .dockercfg: the object itself is the DockerConfig map.
                if (!TryReadAuths(root, byKey, order, out error))
                {
                    return false;
                }
            }
            else
            {
                foreach (var property in root.EnumerateObject())
                {
                    if (string.Equals(property.Name, "auths", StringComparison.OrdinalIgnoreCase))
                    {
                        if (property.Value.ValueKind == JsonValueKind.Null)
                        {
                            // null sets the map to nil; a later "auths" starts a new one.
                            byKey.Clear();
                            order.Clear();
                            continue;
                        }

                        if (property.Value.ValueKind != JsonValueKind.Object)
                        {
                            error = $"its \"auths\" is {Article(property.Value.ValueKind)}, not an object";
                            return false;
                        }

                        if (!TryReadAuths(property.Value, byKey, order, out error))
                        {
                            return false;
                        }
                    }
                    else if (string.Equals(property.Name, "HttpHeaders", StringComparison.OrdinalIgnoreCase) && !IsStringMap(property.Value))
                    {
                        // DockerConfigJSON.HTTPHeaders is a map[string]string: anything else fails the unmarshal.
                        error = $"its \"{property.Name}\" is not an object of strings";
                        return false;
                    }
                }
            }

            config = order.Select(k => (k, byKey[k])).ToList();
            return true;
        }
    }

    private static bool TryReadAuths(JsonElement auths, Dictionary<string, DockerConfigEntry> byKey, List<string> order, out string error)
    {
        error = string.Empty;
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

        return true;
    }

    private static bool IsStringMap(JsonElement value) =>
        value.ValueKind == JsonValueKind.Null
        || value.ValueKind == JsonValueKind.Object && value.EnumerateObject().All(p => p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null);

    /// <summary>config.go <c>DockerConfigEntry.UnmarshalJSON</c>: the four fields of <c>dockerConfigEntryWithAuth</c>, then "auth" decoded.</summary>
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
        var ignored = new List<string>();
        foreach (var property in value.EnumerateObject())
        {
            var field = property.Name.ToLowerInvariant();
            if (field is "identitytoken" or "registrytoken")
            {
                // Not fields of dockerConfigEntryWithAuth: kubelet skips them whatever they hold. Kept (when strings)
                // only to say what the docker CLI would do with the same entry.
                if (property.Value.ValueKind == JsonValueKind.String && field == "identitytoken")
                {
                    identityToken = property.Value.GetString();
                }
                else if (property.Value.ValueKind == JsonValueKind.String)
                {
                    registryToken = property.Value.GetString();
                }
                else if (property.Value.ValueKind != JsonValueKind.Null)
                {
                    ignored.Add($"\"{property.Name}\" is {Article(property.Value.ValueKind)}, not a string");
                }

                continue;
            }

            if (field is not ("username" or "password" or "email" or "auth"))
            {
                continue;
            }

            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                // JSON null has no effect on a Go string field.
                continue;
            }

            if (property.Value.ValueKind != JsonValueKind.String)
            {
                error = $"\"{property.Name}\" of the entry for \"{key}\" is {Article(property.Value.ValueKind)}, not a string";
                return false;
            }

            var text = property.Value.GetString();
            switch (field)
            {
                case "username": username = text; break;
                case "password": password = text; break;
                case "email": email = text; break;
                default: auth = text; break;
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

        entry = new DockerConfigEntry(username, password, email, identityToken, registryToken, authDecoded) { IgnoredFields = ignored };
        return true;
    }

    /// <summary>config.go <c>decodeDockerConfigFieldAuth</c>: padded base64 when it ends with '=', unpadded otherwise; "user:password".</summary>
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
}

/// <summary>One auths entry as kubelet reads it, plus the token fields the docker CLI would also use.</summary>
/// <param name="FromAuthField">True when username and password came from the base64 "auth" field.</param>
internal sealed record DockerConfigEntry(string? Username, string? Password, string? Email, string? IdentityToken, string? RegistryToken, bool? FromAuthField)
{
    /// <summary>Token fields kubelet skipped that were not even strings ("\"identitytoken\" is a number, not a string").</summary>
    public IReadOnlyList<string> IgnoredFields { get; init; } = [];
}
