using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Slack.FakeSlack;

/// <summary>One call the fake received, and what it answered.</summary>
public sealed record FakeSlackCall(DateTimeOffset At, string Method, string? Channel, JsonObject Body, int Status, string? Error, string? Ts)
{
    /// <summary>Slack accepted it (HTTP 200 and no error: Slack answers most errors with 200 and ok:false).</summary>
    public bool Ok => Status == 200 && Error is null;
}

/// <summary>A message as the fake channel holds it (after posts and updates).</summary>
public sealed record FakeSlackMessage(string Channel, string Ts, JsonObject Content, int Updates);

/// <summary>
/// A local Slack Web API (Kestrel on loopback) that behaves like Slack where the bot can tell: bearer token checks
/// (invalid_auth / not_authed / not_allowed_token_type), Block Kit validation (invalid_blocks with Slack's message
/// shape), channel_not_found / not_in_channel, message_not_found on chat.update, a per-channel posting rate (token
/// bucket: Slack's ~1 message per second with short bursts) answered with HTTP 429 + Retry-After, injectable 5xx,
/// response_url endpoints, and a Socket Mode WebSocket. Every call is recorded.
/// </summary>
public sealed partial class FakeSlackServer : IAsyncDisposable
{
    public const string BotToken = "xoxb-1111-2222-fake";
    public const string AppToken = "xapp-1-A0FAKE-3333-fake";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeSlackCall> _calls = new();
    private readonly ConcurrentDictionary<string, FakeSlackMessage> _messages = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _forcedRateLimits = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (Func<bool> Limited, int RetryAfterSeconds)> _rateLimitWindows = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FakeSocketConnection> _sockets = new();
    private readonly SemaphoreSlim _socketArrived = new(0);
    private readonly object _tsLock = new();
    private long _lastTs;
    private int _failNext;
    private int _failStatus = 503;
    private int _responseUrls;

    private FakeSlackServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The port the system picked (the server listens on port 0); known once it has started.</summary>
    public int Port { get; private set; }

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Web API base, as Slack:ApiBaseUrl.</summary>
    public Uri ApiUrl => new(BaseUrl, "api/");

    /// <summary>Prefix of the response URLs this fake hands out, as Slack:ResponseUrlPrefixes.</summary>
    public string ResponseUrlPrefix => new Uri(BaseUrl, "hooks/").ToString();

    /// <summary>Messages per second each channel may post, after <see cref="Burst"/>.</summary>
    public double RatePerSecond { get; set; } = 1;

    public int Burst { get; set; } = 3;

    /// <summary>The clock that stamps <see cref="FakeSlackCall.At"/> (a test may share the bot's fake clock with it).</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>Channels that do not exist (channel_not_found).</summary>
    public ConcurrentDictionary<string, bool> MissingChannels { get; } = new(StringComparer.Ordinal);

    /// <summary>Channels the bot is not a member of (not_in_channel).</summary>
    public ConcurrentDictionary<string, bool> ChannelsWithoutBot { get; } = new(StringComparer.Ordinal);

    /// <summary>usergroups.list: group id → user ids.</summary>
    public ConcurrentDictionary<string, string[]> UserGroups { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<FakeSlackCall> Calls => _calls.ToArray();

    public IReadOnlyCollection<FakeSlackMessage> Messages => _messages.Values.ToArray();

    public static async Task<FakeSlackServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeSlackServer(app);
        app.UseWebSockets();
        app.MapPost("/api/{method}", server.ApiAsync);
        app.MapPost("/hooks/{**rest}", server.ResponseUrlAsync);
        app.Map("/link", server.SocketAsync);
        app.MapPost("/upload/{fileId}", server.UploadAsync);
        await app.StartAsync();
        server.Port = BoundPort.Of(app);
        server.BaseUrl = new Uri($"http://127.0.0.1:{server.Port}/");
        return server;
    }

    /// <summary>The next <paramref name="count"/> Web API calls answer HTTP <paramref name="status"/>.</summary>
    public void FailNext(int count, int status = 503)
    {
        _failStatus = status;
        Interlocked.Exchange(ref _failNext, count);
    }

    /// <summary>The next post to <paramref name="channel"/> answers 429 with this Retry-After, whatever the bucket says.</summary>
    public void RateLimitNext(string channel, int retryAfterSeconds) => _forcedRateLimits[channel] = retryAfterSeconds;

    /// <summary>
    /// Every post and update to <paramref name="channel"/> answers 429 with this Retry-After while <paramref name="limited"/>
    /// holds (Slack keeps answering 429 until the limit window is over), whatever the bucket says.
    /// </summary>
    public void RateLimitWhile(string channel, Func<bool> limited, int retryAfterSeconds) => _rateLimitWindows[channel] = (limited, retryAfterSeconds);

    /// <summary>A response_url for an interaction payload, pointing at this fake.</summary>
    public string NewResponseUrl() => $"{ResponseUrlPrefix}T0FAKE/{Interlocked.Increment(ref _responseUrls)}/{Guid.NewGuid():N}";

    /// <summary>Someone deletes a message in Slack: chat.update of it answers message_not_found from now on.</summary>
    public bool DeleteMessage(string channel, string ts) => _messages.TryRemove(channel + "/" + ts, out _);

    public IReadOnlyList<FakeSlackCall> CallsTo(string method) => Calls.Where(c => c.Method == method).ToList();

    /// <summary>Waits until <paramref name="condition"/> holds over the recorded calls, or fails after <paramref name="timeout"/>.</summary>
    public Task WaitUntilAsync(Func<IReadOnlyList<FakeSlackCall>, bool> condition, TimeSpan timeout, string what) =>
        Eventually.ValueAsync(
            () => Task.FromResult(Calls),
            condition,
            $"Fake Slack to see {what}",
            timeout,
            calls => "calls:\n" + string.Join("\n", calls.Select(c => $"{c.At:HH:mm:ss.fff} {c.Method} {c.Channel} {c.Status} {c.Error}")));

    public async Task<FakeSocketConnection> WaitForSocketAsync(TimeSpan timeout)
    {
        if (!await _socketArrived.WaitAsync(timeout))
        {
            throw new TimeoutException("No Socket Mode connection arrived. Calls:\n" + string.Join("\n", Calls.Select(c => $"{c.Method} {c.Status} {c.Error}")));
        }

        return _sockets.Last();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var socket in _sockets)
        {
            await socket.DisposeAsync();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        _socketArrived.Dispose();
    }

    private async Task ApiAsync(HttpContext context, string method)
    {
        var body = await ReadBodyAsync(context.Request);
        var channel = Str(body, "channel");
        var token = context.Request.Headers.Authorization.ToString();

        if (Interlocked.Decrement(ref _failNext) >= 0)
        {
            await AnswerAsync(context, method, channel, body, _failStatus, "server_error_injected", null, "<html>upstream error</html>", "text/html");
            return;
        }

        if (method == "apps.connections.open")
        {
            if (token == $"Bearer {BotToken}")
            {
                await ErrorAsync(context, method, channel, body, "not_allowed_token_type");
                return;
            }

            if (token != $"Bearer {AppToken}")
            {
                await ErrorAsync(context, method, channel, body, token.Length == 0 ? "not_authed" : "invalid_auth");
                return;
            }

            var url = $"ws://127.0.0.1:{Port}/link/?ticket={Guid.NewGuid():N}&app_id=A0FAKE";
            await OkAsync(context, method, channel, body, new JsonObject { ["url"] = url }, null);
            return;
        }

        if (token.Length == 0)
        {
            await ErrorAsync(context, method, channel, body, "not_authed");
            return;
        }

        if (token != $"Bearer {BotToken}")
        {
            await ErrorAsync(context, method, channel, body, "invalid_auth");
            return;
        }

        switch (method)
        {
            case "chat.postMessage" or "chat.update" or "chat.postEphemeral":
                await MessageMethodAsync(context, method, channel, body);
                return;
            case "files.getUploadURLExternal" or "files.completeUploadExternal":
                await FilesMethodAsync(context, method, body);
                return;
            case "usergroups.list":
                var groups = new JsonArray(UserGroups.Select(g => (JsonNode)new JsonObject
                {
                    ["id"] = g.Key,
                    ["handle"] = g.Key.ToLowerInvariant(),
                    ["users"] = new JsonArray(g.Value.Select(u => (JsonNode)JsonValue.Create(u)).ToArray()),
                }).ToArray());
                await OkAsync(context, method, channel, body, new JsonObject { ["usergroups"] = groups }, null);
                return;
            default:
                await AnswerAsync(context, method, channel, body, 404, "unknown_method", null, """{"ok":false,"error":"unknown_method"}""", "application/json");
                return;
        }
    }

    private async Task MessageMethodAsync(HttpContext context, string method, string? channel, JsonObject body)
    {
        if (string.IsNullOrEmpty(channel) || MissingChannels.ContainsKey(channel))
        {
            await ErrorAsync(context, method, channel, body, "channel_not_found");
            return;
        }

        if (ChannelsWithoutBot.ContainsKey(channel))
        {
            await ErrorAsync(context, method, channel, body, "not_in_channel");
            return;
        }

        if (_forcedRateLimits.TryRemove(channel, out var forced))
        {
            await RateLimitedAsync(context, method, channel, body, forced);
            return;
        }

        if (_rateLimitWindows.TryGetValue(channel, out var window) && window.Limited())
        {
            await RateLimitedAsync(context, method, channel, body, window.RetryAfterSeconds);
            return;
        }

        var bucket = _buckets.GetOrAdd(channel, _ => new TokenBucket(Burst));
        var wait = bucket.TryTake(RatePerSecond, Burst, DateTimeOffset.UtcNow);
        if (wait > TimeSpan.Zero)
        {
            await RateLimitedAsync(context, method, channel, body, (int)Math.Ceiling(wait.TotalSeconds));
            return;
        }

        var text = Str(body, "text");
        if (string.IsNullOrEmpty(text) && body["blocks"] is null)
        {
            await ErrorAsync(context, method, channel, body, "no_text");
            return;
        }

        if (text is { Length: > 40_000 })
        {
            await ErrorAsync(context, method, channel, body, "msg_too_long");
            return;
        }

        var problems = BlockKitRules.Check(body);
        if (problems.Count > 0)
        {
            var answer = new JsonObject
            {
                ["ok"] = false,
                ["error"] = "invalid_blocks",
                ["errors"] = new JsonArray(problems.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()),
                ["response_metadata"] = new JsonObject { ["messages"] = new JsonArray(problems.Select(p => (JsonNode)JsonValue.Create("[ERROR] " + p)).ToArray()) },
            };
            await AnswerAsync(context, method, channel, body, 200, "invalid_blocks", null, answer.ToJsonString(), "application/json");
            return;
        }

        switch (method)
        {
            case "chat.postMessage":
                {
                    var ts = NextTs();
                    _messages[channel + "/" + ts] = new FakeSlackMessage(channel, ts, Content(body), 0);
                    await OkAsync(context, method, channel, body, new JsonObject { ["channel"] = channel, ["ts"] = ts, ["message"] = Content(body) }, ts);
                    return;
                }

            case "chat.update":
                {
                    var ts = Str(body, "ts");
                    if (ts is null || !_messages.TryGetValue(channel + "/" + ts, out var existing))
                    {
                        await ErrorAsync(context, method, channel, body, "message_not_found");
                        return;
                    }

                    _messages[channel + "/" + ts] = existing with { Content = Content(body), Updates = existing.Updates + 1 };
                    await OkAsync(context, method, channel, body, new JsonObject { ["channel"] = channel, ["ts"] = ts, ["text"] = text }, ts);
                    return;
                }

            default:
                if (string.IsNullOrEmpty(Str(body, "user")))
                {
                    await ErrorAsync(context, method, channel, body, "user_not_found");
                    return;
                }

                await OkAsync(context, method, channel, body, new JsonObject { ["message_ts"] = NextTs() }, null);
                return;
        }
    }

    private async Task ResponseUrlAsync(HttpContext context, string rest)
    {
        var body = await ReadBodyAsync(context.Request);
        if (Interlocked.Decrement(ref _failNext) >= 0)
        {
            await AnswerAsync(context, "response_url", null, body, _failStatus, "server_error_injected", null, "upstream error", "text/plain");
            return;
        }

        var problems = BlockKitRules.Check(body);
        if (problems.Count > 0)
        {
            await AnswerAsync(context, "response_url", null, body, 200, "invalid_blocks", null, """{"ok":false,"error":"invalid_blocks"}""", "application/json");
            return;
        }

        await AnswerAsync(context, "response_url", context.Request.Path, body, 200, null, null, """{"ok":true}""", "application/json");
    }

    private async Task SocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest || !context.Request.Query.ContainsKey("ticket"))
        {
            context.Response.StatusCode = 400;
            return;
        }

        var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new FakeSocketConnection(socket);
        _sockets.Enqueue(connection);
        await connection.SendAsync(new JsonObject
        {
            ["type"] = "hello",
            ["num_connections"] = _sockets.Count,
            ["debug_info"] = new JsonObject { ["host"] = "fake-slack", ["approximate_connection_time"] = 18060 },
            ["connection_info"] = new JsonObject { ["app_id"] = "A0FAKE" },
        });
        _socketArrived.Release();
        await connection.RunAsync(context.RequestAborted);
    }

    private Task RateLimitedAsync(HttpContext context, string method, string channel, JsonObject body, int retryAfter)
    {
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        return AnswerAsync(context, method, channel, body, 429, "ratelimited", null, """{"ok":false,"error":"ratelimited"}""", "application/json");
    }

    private Task OkAsync(HttpContext context, string method, string? channel, JsonObject body, JsonObject answer, string? ts)
    {
        answer["ok"] = true;
        return AnswerAsync(context, method, channel, body, 200, null, ts, answer.ToJsonString(), "application/json");
    }

    private Task ErrorAsync(HttpContext context, string method, string? channel, JsonObject body, string error) =>
        AnswerAsync(context, method, channel, body, 200, error, null, new JsonObject { ["ok"] = false, ["error"] = error }.ToJsonString(), "application/json");

    private async Task AnswerAsync(HttpContext context, string method, string? channel, JsonObject body, int status, string? error, string? ts, string answer, string contentType)
    {
        _calls.Enqueue(new FakeSlackCall(Clock.GetUtcNow(), method, channel, body, status, error, ts));
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(answer);
    }

    private string NextTs()
    {
        lock (_tsLock)
        {
            var micros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
            _lastTs = Math.Max(_lastTs + 1, micros);
            return (_lastTs / 1_000_000).ToString(CultureInfo.InvariantCulture) + "." + (_lastTs % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
        }
    }

    private static JsonObject Content(JsonObject body) => new()
    {
        ["text"] = body["text"]?.DeepClone(),
        ["blocks"] = body["blocks"]?.DeepClone(),
        ["thread_ts"] = body["thread_ts"]?.DeepClone(),
    };

    private static async Task<JsonObject> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        if (request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true)
        {
            return JsonNode.Parse(text) as JsonObject ?? [];
        }

        var form = new JsonObject();
        foreach (var pair in text.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            form[Uri.UnescapeDataString(parts[0].Replace('+', ' '))] = parts.Length > 1 ? Uri.UnescapeDataString(parts[1].Replace('+', ' ')) : string.Empty;
        }

        return form;
    }

    private static string? Str(JsonObject obj, string name) =>
        obj[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>Per-channel token bucket: <c>burst</c> messages at once, then <c>rate</c> per second.</summary>
    private sealed class TokenBucket(int burst)
    {
        private double _tokens = burst;
        private DateTimeOffset _at = DateTimeOffset.UtcNow;

        /// <returns>Zero when a token was taken, else how long until one is there.</returns>
        public TimeSpan TryTake(double rate, int burst, DateTimeOffset now)
        {
            lock (this)
            {
                _tokens = Math.Min(burst, _tokens + ((now - _at).TotalSeconds * rate));
                _at = now;
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    return TimeSpan.Zero;
                }

                return TimeSpan.FromSeconds((1 - _tokens) / rate);
            }
        }
    }
}
