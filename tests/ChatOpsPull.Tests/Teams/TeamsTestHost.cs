using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Teams;

/// <summary>The Bot Connector stand-in, started once for every Teams test (they run one after another).</summary>
public sealed class StandInFixture : IAsyncLifetime
{
    public BotConnectorStandIn StandIn { get; private set; } = null!;

    public async Task InitializeAsync() => StandIn = await BotConnectorStandIn.StartAsync();

    public async Task DisposeAsync() => await StandIn.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class TeamsTestGroup : ICollectionFixture<StandInFixture>
{
    public const string Name = "teams";
}

/// <summary>An outbox for tests: hands each entry to the platform's delivery at once and keeps the results.</summary>
public sealed class ImmediateOutbox(IServiceProvider services) : IChatOutbox
{
    private long _next;

    public ConcurrentQueue<(OutboxMessage Message, DeliveryResult Result)> Deliveries { get; } = new();

    public async Task<long> EnqueueAsync(ChatPlatform platform, string channel, string operation, string payload, string? dedupeKey, CancellationToken cancellationToken)
    {
        var message = new OutboxMessage(Interlocked.Increment(ref _next), platform, channel, operation, payload, dedupeKey, 0, DateTimeOffset.UtcNow);
        var delivery = services.GetServices<IOutboxDelivery>().Single(d => d.Platform == platform);
        var result = await delivery.DeliverAsync(message, cancellationToken);
        Deliveries.Enqueue((message, result));
        return message.Id;
    }

    /// <summary>Once keys seen: a second enqueue with one of them adds nothing (as the real outbox).</summary>
    private readonly ConcurrentDictionary<string, bool> _onceKeys = new(StringComparer.Ordinal);

    public async Task<long?> EnqueueOnceAsync(ChatPlatform platform, string channel, string operation, string payload, string onceKey, CancellationToken cancellationToken) =>
        _onceKeys.TryAdd(onceKey, true) ? await EnqueueAsync(platform, channel, operation, payload, null, cancellationToken) : null;
}

/// <summary>Answers every command with a fixed text (and a card for "status"), remembering what it was asked.</summary>
public sealed class RecordingCommandHandler : IChatCommandHandler
{
    public ConcurrentQueue<ChatCommandRequest> Requests { get; } = new();

    public Task<ChatReply> HandleAsync(ChatCommandRequest request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        var reply = request.Text.StartsWith("status", StringComparison.Ordinal)
            ? new ChatReply("2 open incidents") { Card = SampleCards.StatusList() }
            : new ChatReply($"You asked: {request.Text}");
        return Task.FromResult(reply);
    }
}

/// <summary>Approve → the card updated to "approved by …"; anything else → a private message.</summary>
public sealed class RecordingActionHandler : IChatActionHandler
{
    public ConcurrentQueue<ChatActionRequest> Requests { get; } = new();

    public Task<ChatReply> HandleAsync(ChatActionRequest request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        var reply = request.Payload.Verb == CardVerb.Approve
            ? new ChatReply("Approved") { UpdatedCard = SampleCards.Approved(request.CardKey ?? "incident:inc-4f2a9c", request.User.DisplayName) }
            : new ChatReply($"Noted: {request.Payload.Verb} on {request.Payload.Target}");
        return Task.FromResult(reply);
    }
}

/// <summary>The bot under test (<see cref="BotTestHost"/>) wired to the stand-in, with its own data directory.</summary>
public sealed class TeamsTestHost : IAsyncDisposable
{
    public const string GeneralChannel = "19:general-4b6c@thread.tacv2";
    public const string OpsChannel = "19:ops-alerts-9e1f@thread.tacv2";
    public const string PersonalChat = "a:1personal-chat-7f3e";
    public const string ApproverAad = "6a0c1f2e-0000-4000-8000-00000000a001";
    public const string ApproverMri = "29:1approver-mri";
    public const string ViewerAad = "6a0c1f2e-0000-4000-8000-00000000b002";
    public const string ViewerMri = "29:1viewer-mri";

    private readonly BotConnectorStandIn _standIn;
    private readonly BotTestHost _host;

    /// <param name="services">Further test services, registered after the recording handlers (so they can replace them).</param>
    public TeamsTestHost(BotConnectorStandIn standIn, string? dataDirectory = null, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        _standIn = standIn;
        DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("chatopspull-teams-").FullName;
        var all = new Dictionary<string, string?>
        {
            ["Teams:MicrosoftAppId"] = BotConnectorStandIn.AppId,
            ["Teams:MicrosoftAppPassword"] = BotConnectorStandIn.AppPassword,
            ["Teams:OpenIdMetadataUrl"] = standIn.OpenIdMetadataUrl,
            ["Teams:EmulatorOpenIdMetadataUrl"] = standIn.EmulatorOpenIdMetadataUrl,
            ["Teams:TokenEndpoint"] = standIn.TokenEndpoint,
            ["Teams:AllowedServiceUrlHosts:0"] = "127.0.0.1",
            ["Teams:CardApprovers:0"] = ApproverAad,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        _host = new BotTestHost(TestStorage.SqliteIn(DataDirectory), all, collection =>
        {
            collection.AddSingleton<IChatOutbox, ImmediateOutbox>();
            collection.AddSingleton<IChatCommandHandler>(Commands);
            collection.AddSingleton<IChatActionHandler>(Actions);
            services?.Invoke(collection);
        });
    }

    public string DataDirectory { get; }

    public RecordingCommandHandler Commands { get; } = new();

    public RecordingActionHandler Actions { get; } = new();

    public IServiceProvider Services => _host.Services;

    public ImmediateOutbox Outbox => (ImmediateOutbox)Services.GetRequiredService<IChatOutbox>();

    public HttpClient CreateClient() => _host.CreateClient();

    /// <summary>Posts an activity to /api/messages with a valid Bot Connector token for it (or the given one).</summary>
    public async Task<HttpResponseMessage> SendAsync(JsonObject activity, string? token = null)
    {
        using var client = CreateClient();
        token ??= _standIn.CreateToken(new TokenSpec { ServiceUrl = activity["serviceUrl"]?.GetValue<string>() });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages")
        {
            Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}

/// <summary>Activities shaped as Teams sends them (see tests/fixtures/teams for the sources).</summary>
public static class TeamsActivities
{
    public static JsonObject BotAddedToTeam(string serviceUrl) => new()
    {
        ["type"] = "conversationUpdate",
        ["id"] = "f:" + Guid.NewGuid().ToString("N"),
        ["timestamp"] = "2026-11-25T09:12:00.000Z",
        ["serviceUrl"] = serviceUrl,
        ["channelId"] = "msteams",
        ["from"] = new JsonObject { ["id"] = TeamsTestHost.ApproverMri, ["aadObjectId"] = TeamsTestHost.ApproverAad, ["name"] = "Ada Approver" },
        ["recipient"] = new JsonObject { ["id"] = BotConnectorStandIn.BotId, ["name"] = "pullbot" },
        ["conversation"] = new JsonObject
        {
            ["isGroup"] = true,
            ["conversationType"] = "channel",
            ["tenantId"] = BotConnectorStandIn.TenantId,
            ["id"] = TeamsTestHost.GeneralChannel,
        },
        ["membersAdded"] = new JsonArray { new JsonObject { ["id"] = BotConnectorStandIn.BotId } },
        ["channelData"] = new JsonObject
        {
            ["team"] = new JsonObject { ["aadGroupId"] = "0f2a6b1c-aaaa-4bbb-8ccc-0123456789ab", ["name"] = "Platform", ["id"] = TeamsTestHost.GeneralChannel },
            ["eventType"] = "teamMemberAdded",
            ["tenant"] = new JsonObject { ["id"] = BotConnectorStandIn.TenantId },
        },
    };

    public static JsonObject ChannelCreated(string serviceUrl, string channelId, string name) => new()
    {
        ["type"] = "conversationUpdate",
        ["id"] = "f:" + Guid.NewGuid().ToString("N"),
        ["serviceUrl"] = serviceUrl,
        ["channelId"] = "msteams",
        ["from"] = new JsonObject { ["id"] = TeamsTestHost.ApproverMri, ["aadObjectId"] = TeamsTestHost.ApproverAad },
        ["recipient"] = new JsonObject { ["id"] = BotConnectorStandIn.BotId, ["name"] = "pullbot" },
        ["conversation"] = new JsonObject
        {
            ["isGroup"] = true,
            ["conversationType"] = "channel",
            ["tenantId"] = BotConnectorStandIn.TenantId,
            ["id"] = TeamsTestHost.GeneralChannel,
        },
        ["channelData"] = new JsonObject
        {
            ["channel"] = new JsonObject { ["id"] = channelId, ["name"] = name },
            ["team"] = new JsonObject { ["id"] = TeamsTestHost.GeneralChannel, ["name"] = "Platform" },
            ["eventType"] = "channelCreated",
            ["tenant"] = new JsonObject { ["id"] = BotConnectorStandIn.TenantId },
        },
    };

    /// <summary>"@pullbot status" in a channel thread, as Teams delivers it (mention markup, channel data).</summary>
    public static JsonObject ChannelMessage(string serviceUrl, string channelId, string text, string messageId = "1732520000001", bool asViewer = false) => new()
    {
        ["type"] = "message",
        ["id"] = messageId,
        ["timestamp"] = "2026-11-25T09:15:00.000Z",
        ["serviceUrl"] = serviceUrl,
        ["channelId"] = "msteams",
        ["from"] = asViewer
            ? new JsonObject { ["id"] = TeamsTestHost.ViewerMri, ["aadObjectId"] = TeamsTestHost.ViewerAad, ["name"] = "Vic Viewer" }
            : new JsonObject { ["id"] = TeamsTestHost.ApproverMri, ["aadObjectId"] = TeamsTestHost.ApproverAad, ["name"] = "Ada Approver" },
        ["recipient"] = new JsonObject { ["id"] = BotConnectorStandIn.BotId, ["name"] = "pullbot" },
        ["conversation"] = new JsonObject
        {
            ["isGroup"] = true,
            ["conversationType"] = "channel",
            ["tenantId"] = BotConnectorStandIn.TenantId,
            ["id"] = $"{channelId};messageid={messageId}",
        },
        ["textFormat"] = "plain",
        ["text"] = "<at>pullbot</at> " + text,
        ["entities"] = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "mention",
                ["mentioned"] = new JsonObject { ["id"] = BotConnectorStandIn.BotId, ["name"] = "pullbot" },
                ["text"] = "<at>pullbot</at>",
            },
        },
        ["channelData"] = new JsonObject
        {
            ["teamsChannelId"] = channelId,
            ["teamsTeamId"] = TeamsTestHost.GeneralChannel,
            ["channel"] = new JsonObject { ["id"] = channelId },
            ["team"] = new JsonObject { ["id"] = TeamsTestHost.GeneralChannel },
            ["tenant"] = new JsonObject { ["id"] = BotConnectorStandIn.TenantId },
        },
    };

    /// <summary>An <c>adaptiveCard/action</c> invoke for a click (or a refresh) on a card in a channel thread.</summary>
    public static JsonObject CardAction(string serviceUrl, string threadConversationId, string verb, JsonNode? data, bool asViewer = false, string trigger = "manual") => new()
    {
        ["type"] = "invoke",
        ["name"] = "adaptiveCard/action",
        ["id"] = "f:" + Guid.NewGuid().ToString("N"),
        ["serviceUrl"] = serviceUrl,
        ["channelId"] = "msteams",
        ["from"] = asViewer
            ? new JsonObject { ["id"] = TeamsTestHost.ViewerMri, ["aadObjectId"] = TeamsTestHost.ViewerAad, ["name"] = "Vic Viewer" }
            : new JsonObject { ["id"] = TeamsTestHost.ApproverMri, ["aadObjectId"] = TeamsTestHost.ApproverAad, ["name"] = "Ada Approver" },
        ["recipient"] = new JsonObject { ["id"] = BotConnectorStandIn.BotId, ["name"] = "pullbot" },
        ["conversation"] = new JsonObject
        {
            ["isGroup"] = true,
            ["conversationType"] = "channel",
            ["tenantId"] = BotConnectorStandIn.TenantId,
            ["id"] = threadConversationId,
        },
        ["channelData"] = new JsonObject
        {
            ["channel"] = new JsonObject { ["id"] = threadConversationId.Split(";messageid=")[0] },
            ["team"] = new JsonObject { ["id"] = TeamsTestHost.GeneralChannel },
            ["tenant"] = new JsonObject { ["id"] = BotConnectorStandIn.TenantId },
            ["source"] = new JsonObject { ["name"] = "message" },
        },
        ["value"] = new JsonObject
        {
            ["action"] = new JsonObject { ["type"] = "Action.Execute", ["verb"] = verb, ["data"] = data },
            ["trigger"] = trigger,
        },
    };
}
