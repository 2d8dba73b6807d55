using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using ChatOpsPull.Chat;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Slack;

/// <summary>The real bot host (<see cref="BotTestHost"/>) talking to a <see cref="FakeSlackServer"/>, with its own data directory.</summary>
public sealed class SlackTestHost : IAsyncDisposable
{
    public const string SigningSecret = "e3b0c44298fc1c149afbf4c8996fb924";

    private readonly BotTestHost _host;

    private SlackTestHost(BotTestHost host, string dataDirectory, HttpClient client)
    {
        _host = host;
        DataDirectory = dataDirectory;
        Client = client;
    }

    public string DataDirectory { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _host.Services;

    public T Get<T>()
        where T : notnull => _host.Services.GetRequiredService<T>();

    /// <param name="settings">Extra or overriding settings ("Outbox:MessageInterval" …); a null value removes a default.</param>
    /// <param name="services">Further test services, registered last (e.g. an approval service for the real command handler).</param>
    public static SlackTestHost Start(
        FakeSlackServer? fake,
        IDictionary<string, string?>? settings = null,
        IChatCommandHandler? commands = null,
        IChatActionHandler? actions = null,
        string? dataDirectory = null,
        Action<IServiceCollection>? services = null)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "chatopspull-slack-" + Guid.NewGuid().ToString("N"));
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Bot:DataDirectory"] = dataDirectory,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Outbox:MessageInterval"] = "00:00:00.050",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Outbox:BaseBackoff"] = "00:00:00.100",
            ["Outbox:MaxBackoff"] = "00:00:01",
            ["Slack:InlineReplyBudget"] = "00:00:00.200",
        };
        if (fake is not null)
        {
            all["Slack:SigningSecret"] = SigningSecret;
            all["Slack:BotToken"] = FakeSlackServer.BotToken;
            all["Slack:ApiBaseUrl"] = fake.ApiUrl.ToString();
            all["Slack:ResponseUrlPrefixes:0"] = fake.ResponseUrlPrefix;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var host = new BotTestHost(
            TestStorage.SqliteIn(dataDirectory),
            all.Where(p => p.Value is not null).ToDictionary(),
            collection =>
            {
                if (commands is not null)
                {
                    collection.AddSingleton(commands);
                }

                if (actions is not null)
                {
                    collection.AddSingleton(actions);
                }

                services?.Invoke(collection);
            });
        var client = host.CreateClient();
        return new SlackTestHost(host, dataDirectory, client);
    }

    /// <summary>Posts like Slack does: signed with <see cref="SigningSecret"/> (an independent HMAC, not the bot's code).</summary>
    public async Task<HttpResponseMessage> PostSignedAsync(
        string path,
        string body,
        string contentType,
        long? timestamp = null,
        string? signatureOverride = null,
        IDictionary<string, string>? headers = null)
    {
        var ts = (timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()).ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Add("X-Slack-Request-Timestamp", ts);
        request.Headers.Add("X-Slack-Signature", signatureOverride ?? Sign(SigningSecret, ts, body));
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.Add(name, value);
        }

        return await Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostCommandAsync(string form) =>
        PostSignedAsync("/slack/commands", form, "application/x-www-form-urlencoded");

    public Task<HttpResponseMessage> PostInteractionAsync(string payloadJson) =>
        PostSignedAsync("/slack/interactions", "payload=" + Uri.EscapeDataString(payloadJson), "application/x-www-form-urlencoded");

    public Task<HttpResponseMessage> PostEventAsync(string json, IDictionary<string, string>? headers = null) =>
        PostSignedAsync("/slack/events", json, "application/json", headers: headers);

    public static string Sign(string secret, string timestamp, string body)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"v0:{timestamp}:{body}"));
        return "v0=" + Convert.ToHexStringLower(mac);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _host.DisposeAsync();
    }

    /// <summary>Removes the data directory (call after <see cref="DisposeAsync"/> when no other host uses it).</summary>
    public static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp directory is cleaned by the OS
        }
    }
}

/// <summary>Answers every command with a fixed reply and records what it was asked.</summary>
public sealed class RecordingCommandHandler : IChatCommandHandler
{
    public ConcurrentQueue<ChatCommandRequest> Requests { get; } = new();

    public TimeSpan Delay { get; set; }

    /// <summary>When set, every command waits for it before answering: a command still running until the test says.</summary>
    public Task? HeldUntil { get; set; }

    public Func<ChatCommandRequest, ChatReply> Answer { get; set; } = r => new ChatReply($"All quiet. You asked: {r.Text}");

    public async Task<ChatReply> HandleAsync(ChatCommandRequest request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken); // a slow command handler's pace, not a wait for an outcome
        }

        if (HeldUntil is { } held)
        {
            await held.WaitAsync(cancellationToken);
        }

        return Answer(request);
    }
}

/// <summary>Answers every click with a fixed reply and records what it was asked.</summary>
public sealed class RecordingActionHandler : IChatActionHandler
{
    public ConcurrentQueue<ChatActionRequest> Requests { get; } = new();

    public Func<ChatActionRequest, ChatReply> Answer { get; set; } = r => new ChatReply($"Noted: {r.Payload}");

    /// <summary>When set, every click waits for it before it is answered: a click still being handled until the test says.</summary>
    public Task? HeldUntil { get; set; }

    public async Task<ChatReply> HandleAsync(ChatActionRequest request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        if (HeldUntil is { } held)
        {
            await held.WaitAsync(cancellationToken);
        }

        return Answer(request);
    }
}
