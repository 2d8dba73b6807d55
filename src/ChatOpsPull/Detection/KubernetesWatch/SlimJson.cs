using System.Buffers;
using System.Text.Json;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// The property names a slim reader (<see cref="PodJson"/>, <see cref="EventJson"/>) tells apart, kept in UTF-8 so a
/// name is compared with the reader's bytes as they are: comparing with a string instead transcodes the string to UTF-8
/// on every call, i.e. one transcode per known name for each property read.
/// </summary>
internal sealed class JsonNames
{
    private readonly string[] _names;
    private readonly byte[][] _utf8;

    public JsonNames(params string[] names)
    {
        _names = names;
        _utf8 = Array.ConvertAll(names, System.Text.Encoding.UTF8.GetBytes);
    }

    /// <summary>The property name the reader is on as one of the names (no allocation), or the empty string for any other.</summary>
    public string Known(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            // The usual case: the name's bytes as they stand in the buffer.
            var name = reader.ValueSpan;
            for (var i = 0; i < _utf8.Length; i++)
            {
                if (name.SequenceEqual(_utf8[i]))
                {
                    return _names[i];
                }
            }

            return string.Empty;
        }

        for (var i = 0; i < _utf8.Length; i++)
        {
            if (reader.ValueTextEquals(_utf8[i]))
            {
                return _names[i];
            }
        }

        return string.Empty;
    }
}

/// <summary>
/// What the slim readers share: walking an object property by property, and reading strings (pooled or not), flags,
/// numbers and times the way KubernetesClient's model reads them — a value of an unexpected JSON type is an error, as
/// it is there; a missing or null one is null.
/// </summary>
internal static class SlimJson
{
    /// <summary>Reads one object with <paramref name="state"/> (a static lambda: no allocation per call); the reader is on its StartObject and ends on its EndObject.</summary>
    public delegate T ObjectReader<in TState, out T>(ref Utf8JsonReader reader, TState state);

    public static JsonReaderOptions Options { get; } = new() { MaxDepth = 128 };

    /// <summary>A list answer: its items (each read by <paramref name="readItem"/>), resourceVersion and continue token.</summary>
    public static (List<T> Items, string? ResourceVersion, string? Continue) ReadList<TState, T>(ReadOnlySequence<byte> json, JsonNames names, TState state, ObjectReader<TState, T> readItem)
    {
        var reader = new Utf8JsonReader(json, Options);
        Expect(ref reader, JsonTokenType.StartObject);
        var items = new List<T>();
        string? resourceVersion = null;
        string? next = null;
        while (Property(ref reader, names) is { } name)
        {
            switch (name)
            {
                case "metadata" when reader.TokenType == JsonTokenType.StartObject:
                    while (Property(ref reader, names) is { } field)
                    {
                        switch (field)
                        {
                            case "resourceVersion":
                                resourceVersion = Text(ref reader);
                                break;
                            case "continue":
                                next = Text(ref reader);
                                break;
                            default:
                                reader.Skip();
                                break;
                        }
                    }

                    break;
                case "items" when reader.TokenType == JsonTokenType.StartArray:
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        items.Add(readItem(ref reader, state));
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return (items, resourceVersion, next);
    }

    /// <summary>A watch line: its type and its object (read by <paramref name="readObject"/>: the resource, or an ERROR line's Status).</summary>
    public static (string Type, T Object) ReadWatchLine<TState, T>(ReadOnlySequence<byte> line, JsonNames names, TState state, ObjectReader<TState, T> readObject)
        where T : class
    {
        var reader = new Utf8JsonReader(line, Options);
        Expect(ref reader, JsonTokenType.StartObject);
        string? type = null;
        T? read = null;
        while (Property(ref reader, names) is { } name)
        {
            switch (name)
            {
                case "type":
                    type = Text(ref reader);
                    break;
                case "object" when reader.TokenType == JsonTokenType.StartObject:
                    read = readObject(ref reader, state);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (type is null || read is null)
        {
            throw new JsonException("a watch event without type or object");
        }

        return (type, read);
    }

    /// <summary>The next property of the current object, with the reader on its value; null at the object's end.</summary>
    public static string? Property(ref Utf8JsonReader reader, JsonNames names)
    {
        if (!reader.Read())
        {
            throw new JsonException("the JSON ended inside an object");
        }

        if (reader.TokenType == JsonTokenType.EndObject)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.PropertyName)
        {
            throw new JsonException($"expected a property, found {reader.TokenType}");
        }

        var name = names.Known(ref reader);
        if (!reader.Read())
        {
            throw new JsonException("the JSON ended after a property name");
        }

        return name;
    }

    /// <summary>
    /// Reads the metadata field <paramref name="name"/> the reader is on into <paramref name="metadata"/> if it is one
    /// every slim reader keeps (uid, name, namespace, resourceVersion, which its <see cref="JsonNames"/> must hold); false for
    /// any other, which the caller reads or skips.
    /// </summary>
    public static bool CommonMetadata(string name, ref Utf8JsonReader reader, StringPool pool, ref ObjectMetadata metadata)
    {
        switch (name)
        {
            case "uid":
                metadata.Uid = Text(ref reader);
                return true;
            case "name":
                metadata.Name = Text(ref reader);
                return true;
            case "namespace":
                metadata.Namespace = Pooled(ref reader, pool);
                return true;
            case "resourceVersion":
                metadata.ResourceVersion = Text(ref reader);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Fails unless the reader is on the StartObject of <paramref name="what"/>.</summary>
    public static void ExpectObject(ref Utf8JsonReader reader, string what = "an object")
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"expected {what}, found {reader.TokenType}");
        }
    }

    public static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new JsonException($"expected {type}");
        }
    }

    public static string? Text(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"expected a string, found {reader.TokenType}"),
    };

    public static bool? Flag(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.Null => null,
        _ => throw new JsonException($"expected a boolean, found {reader.TokenType}"),
    };

    public static int? Number(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number => reader.GetInt32(),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"expected a number, found {reader.TokenType}"),
    };

    /// <summary>
    /// An RFC 3339 time (seconds, micro- or nanoseconds, <c>Z</c> or an offset) as a UTC <see cref="DateTime"/>, as
    /// KubernetesClient reads <c>Time</c> and <c>MicroTime</c>; null for null and for a string that is no such time.
    /// </summary>
    public static DateTime? Time(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"expected a time, found {reader.TokenType}");
        }

        // A time that does not read is left out rather than failing the line: one odd event must not end the stream
        // (it would be read again from the same resourceVersion), and every reader of a time has a fallback.
        return reader.TryGetDateTimeOffset(out var at) ? at.UtcDateTime : null;
    }

    /// <summary>A string many objects repeat, from the pool.</summary>
    public static string? Pooled(ref Utf8JsonReader reader, StringPool pool)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"expected a string, found {reader.TokenType}");
        }

        if (!reader.HasValueSequence && !reader.ValueIsEscaped)
        {
            return pool.Get(reader.ValueSpan);
        }

        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = reader.CopyString(rented);
            return pool.Get(rented.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

/// <summary>The metadata every slim reader keeps of an object (<see cref="SlimJson.CommonMetadata"/> reads it).</summary>
internal struct ObjectMetadata
{
    public string? Uid;

    public string? Name;

    public string? Namespace;

    public string? ResourceVersion;
}
