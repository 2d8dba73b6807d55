using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ChatOpsPull.Core.Classification;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Cli;

/// <summary>
/// <c>chatopspull classify</c>: JSON lines in, JSON lines out. Each input line is an object with a string
/// <c>message</c> (the kubelet/runtime text) and optionally a string <c>reason</c> (ErrImagePull, ImagePullBackOff,
/// …); other fields are ignored. Output line N answers input line N: <c>{"cause","confidence","summary"}</c>, or
/// <c>{"line","error"}</c> when the line is blank, not JSON, not an object, has no string message, or is longer than
/// <see cref="MaxLineLength"/> characters. Exit code 0 when every line was classified, 1 when some line got an
/// error, 2 for a usage error.
/// </summary>
public static class ClassifyVerb
{
    public const int MaxLineLength = 1024 * 1024;

    public const string Usage = """
        usage: chatopspull classify < messages.jsonl

        Reads one JSON object per line from standard input and writes one JSON object per line to standard output.
          input:  {"message": "Failed to pull image \"nginx:1.99\": ... not found", "reason": "ErrImagePull"}
                  ("reason" is optional; other fields are ignored)
          output: {"cause": "image_not_found", "confidence": 0.7, "summary": "..."}
                  or {"line": 3, "error": "..."} for a blank line, invalid JSON, a missing or non-string "message",
                  or a line over 1048576 characters. Output line N always answers input line N.
        Exit code: 0 all lines classified, 1 some lines had errors, 2 usage error.
        """;

    // Relaxed escaping keeps quotes and non-ASCII readable; the output goes to a terminal or a pipe, never into HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static CliVerb Verb { get; } = new("classify", "Classify image-pull messages: JSON lines on stdin, causes on stdout.", RunAsync, Usage);

    public static async Task<int> RunAsync(string[] args, CliIo io)
    {
        if (args.Length > 0)
        {
            if (args is ["-h" or "--help"])
            {
                await io.Out.WriteAsync(Usage).ConfigureAwait(false);
                await io.Out.WriteLineAsync().ConfigureAwait(false);
                return 0;
            }

            var what = args[0].StartsWith('-') ? $"unknown option '{args[0]}'" : $"unexpected argument '{args[0]}'";
            await io.Error.WriteLineAsync($"chatopspull classify: {what}; it reads JSON lines from standard input. Run 'chatopspull classify --help'.").ConfigureAwait(false);
            return 2;
        }

        var reader = new BoundedLineReader(io.In, MaxLineLength);
        var buffer = new ArrayBufferWriter<byte>(512);
        var failures = 0;
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer, WriterOptions))
            {
                if (!WriteAnswer(line, json))
                {
                    failures++;
                }
            }

            await io.Out.WriteLineAsync(Encoding.UTF8.GetString(buffer.WrittenSpan)).ConfigureAwait(false);
            await io.Out.FlushAsync().ConfigureAwait(false);
        }

        return failures == 0 ? 0 : 1;
    }

    /// <summary>Writes the answer object for one line; false when it is an error.</summary>
    private static bool WriteAnswer(InputLine line, Utf8JsonWriter json)
    {
        var (message, reason, error) = Parse(line);
        if (error is not null)
        {
            json.WriteStartObject();
            json.WriteNumber("line", line.Number);
            json.WriteString("error", error);
            json.WriteEndObject();
            return false;
        }

        var result = MessageClassifier.Classify(message, reason);
        json.WriteStartObject();
        json.WriteString("cause", result.Cause.ToSnakeCase());
        json.WriteNumber("confidence", Math.Round(result.Confidence, 2));
        json.WriteString("summary", result.Summary);
        json.WriteEndObject();
        return true;
    }

    private static (string? Message, string? Reason, string? Error) Parse(InputLine line)
    {
        if (line.TooLong)
        {
            return (null, null, $"line {line.Number} is longer than {MaxLineLength} characters; it was skipped");
        }

        if (string.IsNullOrWhiteSpace(line.Text))
        {
            return (null, null, $"line {line.Number} is blank; expected a JSON object with a \"message\" string");
        }

        try
        {
            using var document = JsonDocument.Parse(line.Text, new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null, $"line {line.Number} is a JSON {Describe(root.ValueKind)}, not an object with a \"message\" string");
            }

            if (!root.TryGetProperty("message", out var message))
            {
                return (null, null, $"line {line.Number} has no \"message\" field");
            }

            if (message.ValueKind != JsonValueKind.String)
            {
                return (null, null, $"line {line.Number}: \"message\" must be a string, not {Describe(message.ValueKind)}");
            }

            string? reason = null;
            if (root.TryGetProperty("reason", out var reasonElement))
            {
                if (reasonElement.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                {
                    return (null, null, $"line {line.Number}: \"reason\" must be a string when present, not {Describe(reasonElement.ValueKind)}");
                }

                reason = reasonElement.GetString();
            }

            return (message.GetString(), reason, null);
        }
        catch (JsonException e)
        {
            return (null, null, $"line {line.Number} is not valid JSON: {FirstSentence(e.Message)}");
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string FirstSentence(string text)
    {
        var end = text.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? text.TrimEnd('.') : text[..end];
    }
}
