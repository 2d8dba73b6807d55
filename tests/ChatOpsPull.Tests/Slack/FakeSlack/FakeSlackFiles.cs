using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace ChatOpsPull.Tests.Slack.FakeSlack;

/// <summary>A file as the fake holds it: reserved, uploaded, and (once completed) shared into a channel or thread.</summary>
public sealed record FakeSlackFile(string Id, string Filename, long DeclaredLength, string? AltText, byte[]? Bytes, string? Title, string? Channel, string? ThreadTs)
{
    public bool Completed => Channel is not null;
}

/// <summary>
/// Slack's external upload flow (files.getUploadURLExternal → POST to upload_url → files.completeUploadExternal), as the
/// method pages describe it: getUploadURLExternal needs filename and a positive length (missing_argument otherwise) and
/// refuses alt_txt over 1,000 characters (alt_txt_too_large); the upload URL takes the raw bytes (no token) and answers
/// "OK - {length}"; completeUploadExternal needs a files array of uploaded ids (file_not_found otherwise), checks the
/// channel like chat.postMessage, and shares the file into thread_ts when given.
/// </summary>
public sealed partial class FakeSlackServer
{
    private readonly ConcurrentDictionary<string, FakeSlackFile> _files = new(StringComparer.Ordinal);
    private int _fileIds;

    /// <summary>Every file reserved, in any state.</summary>
    public IReadOnlyList<FakeSlackFile> Files => _files.Values.OrderBy(f => f.Id, StringComparer.Ordinal).ToList();

    private async Task FilesMethodAsync(HttpContext context, string method, JsonObject body)
    {
        if (method == "files.getUploadURLExternal")
        {
            var filename = Str(body, "filename");
            var lengthText = body["length"]?.ToString();
            if (string.IsNullOrEmpty(filename) || !long.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length <= 0)
            {
                await ErrorAsync(context, method, null, body, "missing_argument");
                return;
            }

            var alt = Str(body, "alt_txt");
            if (alt is { Length: > 1000 })
            {
                await ErrorAsync(context, method, null, body, "alt_txt_too_large");
                return;
            }

            var id = "F0FAKE" + Interlocked.Increment(ref _fileIds).ToString("D5", CultureInfo.InvariantCulture);
            _files[id] = new FakeSlackFile(id, filename, length, alt, null, null, null, null);
            await OkAsync(context, method, null, body, new JsonObject { ["upload_url"] = new Uri(BaseUrl, "upload/" + id).ToString(), ["file_id"] = id }, null);
            return;
        }

        // files.completeUploadExternal: "files" is a JSON array (JSON body) or a JSON-encoded string (form body).
        JsonArray? files = body["files"] switch
        {
            JsonArray array => array,
            JsonValue value when value.GetValueKind() == JsonValueKind.String => TryParseArray(value.GetValue<string>()),
            _ => null,
        };
        if (files is null || files.Count == 0)
        {
            await ErrorAsync(context, method, null, body, "invalid_arguments");
            return;
        }

        var channel = Str(body, "channel_id");
        if (channel is not null && MissingChannels.ContainsKey(channel))
        {
            await ErrorAsync(context, method, channel, body, "channel_not_found");
            return;
        }

        if (channel is not null && ChannelsWithoutBot.ContainsKey(channel))
        {
            await ErrorAsync(context, method, channel, body, "not_in_channel");
            return;
        }

        var entries = new List<(FakeSlackFile File, string? Title)>();
        foreach (var entry in files)
        {
            var id = entry?["id"]?.GetValue<string>();
            if (id is null || !_files.TryGetValue(id, out var file) || file.Bytes is null)
            {
                await ErrorAsync(context, method, channel, body, "file_not_found");
                return;
            }

            entries.Add((file, entry?["title"]?.GetValue<string>()));
        }

        var threadTs = Str(body, "thread_ts");
        var shared = new JsonArray();
        foreach (var (file, title) in entries)
        {
            _files[file.Id] = file with { Title = title ?? file.Filename, Channel = channel ?? "(private)", ThreadTs = threadTs };
            shared.Add(new JsonObject { ["id"] = file.Id, ["title"] = title ?? file.Filename, ["name"] = file.Filename });
        }

        await OkAsync(context, method, channel, body, new JsonObject { ["files"] = shared }, null);
    }

    private async Task UploadAsync(HttpContext context, string fileId)
    {
        if (!_files.TryGetValue(fileId, out var file))
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsync("not found");
            return;
        }

        if (context.Request.Headers.Authorization.Count > 0)
        {
            // The upload URL is the credential; a client that sends its token to the upload host leaks it.
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync("unexpected Authorization header");
            return;
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var bytes = buffer.ToArray();
        _files[fileId] = file with { Bytes = bytes };
        _calls.Enqueue(new FakeSlackCall(DateTimeOffset.UtcNow, "upload", null, new JsonObject { ["file_id"] = fileId, ["bytes"] = bytes.Length }, 200, null, null));
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync("OK - " + bytes.Length.ToString(CultureInfo.InvariantCulture));
    }

    private static JsonArray? TryParseArray(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonArray;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
