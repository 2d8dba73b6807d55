using System.Buffers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Outbox;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack.SocketMode;

/// <summary>
/// Socket Mode: instead of receiving HTTP, the bot asks apps.connections.open (app-level token) for a WebSocket URL,
/// connects, and receives envelopes (events_api, interactive, slash_commands). Each is acknowledged by envelope_id
/// (a slash command's ack carries the immediate answer), de-duplicated by envelope id across reconnects, and handed
/// to the same <see cref="SlackInbound"/> as HTTP. "disconnect" (refresh_requested, warning) reconnects at once;
/// errors reconnect with exponential backoff.
/// </summary>
public sealed partial class SlackSocketMode(
    SlackApiClient api,
    SlackInbound inbound,
    SlackSeenEvents seen,
    IOptionsMonitor<SlackOptions> options,
    TimeProvider time,
    ILogger<SlackSocketMode> log) : BackgroundService
{
    private const int MaxMessageBytes = 1 << 20;
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    private enum ConnectionEnd
    {
        /// <summary>Slack asked for a new connection (refresh_requested, warning) or closed this one normally.</summary>
        Refresh,

        Error,

        /// <summary>Socket Mode is switched off in the app's settings.</summary>
        LinkDisabled,
    }

    /// <summary>Connections that received "hello" since start (for tests and the status page).</summary>
    public int Connections { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var current = options.CurrentValue;
        if (!current.IsConfigured || !current.SocketMode)
        {
            return;
        }

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var helloBefore = Connections;
            ConnectionEnd end;
            try
            {
                end = await RunConnectionAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or HttpRequestException or JsonException or InvalidOperationException)
            {
                LogConnectionError(log, ex.GetType().Name, ex.Message);
                end = ConnectionEnd.Error;
            }

            failures = Connections > helloBefore ? 0 : failures + 1;
            var delay = end switch
            {
                ConnectionEnd.Refresh => TimeSpan.Zero,
                ConnectionEnd.LinkDisabled => TimeSpan.FromMinutes(1),
                ConnectionEnd.Error => OutboxBackoff.Delay(Math.Max(failures, 1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), RandomNumberGenerator.GetInt32(0, 1000) / 1000d),
                _ => TimeSpan.FromSeconds(1),
            };
            if (delay > TimeSpan.Zero)
            {
                LogReconnecting(log, (long)delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<ConnectionEnd> RunConnectionAsync(CancellationToken stoppingToken)
    {
        var opened = await api.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
        var url = opened.Body?["url"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        if (!opened.Ok || url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("wss" or "ws"))
        {
            LogOpenFailed(log, opened.Error ?? "no WebSocket URL in the answer");
            return ConnectionEnd.Error;
        }

        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
        {
            connectTimeout.CancelAfter(TimeSpan.FromSeconds(15));
            await socket.ConnectAsync(uri, connectTimeout.Token).ConfigureAwait(false);
        }

        using var sendLock = new SemaphoreSlim(1, 1);
        var connection = new Connection(socket, sendLock);
        var handlers = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var message = await ReceiveAsync(socket, stoppingToken).ConfigureAwait(false);
                if (message is null)
                {
                    var status = socket.CloseStatus;
                    LogClosed(log, status, socket.CloseStatusDescription);
                    return socket.CloseStatus == WebSocketCloseStatus.NormalClosure ? ConnectionEnd.Refresh : ConnectionEnd.Error;
                }

                var end = Dispatch(message, connection, handlers);
                if (end is { } finished)
                {
                    await CloseQuietlyAsync(socket, sendLock).ConfigureAwait(false);
                    return finished;
                }

                handlers.RemoveAll(t => t.IsCompleted);
            }

            await CloseQuietlyAsync(socket, sendLock).ConfigureAwait(false);
            return ConnectionEnd.Refresh;
        }
        finally
        {
            // Acks still under way need the socket; give them a moment before it is disposed.
            await Task.WhenAny(Task.WhenAll(handlers), Task.Delay(TimeSpan.FromSeconds(2), time, CancellationToken.None)).ConfigureAwait(false);
        }
    }

    /// <returns>How the connection ends, or null to keep reading.</returns>
    private ConnectionEnd? Dispatch(byte[] message, Connection connection, List<Task> handlers)
    {
        JsonElement envelope;
        try
        {
            using var document = JsonDocument.Parse(message, DocumentOptions);
            envelope = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            LogMalformed(log, "not JSON");
            return null;
        }

        var type = SlackPayloads.Text(envelope, "type");
        switch (type)
        {
            case "hello":
                Connections++;
                LogHello(log, Connections);
                return null;

            case "disconnect":
                var reason = SlackPayloads.Text(envelope, "reason") ?? "unknown";
                LogDisconnect(log, reason);
                return reason == "link_disabled" ? ConnectionEnd.LinkDisabled : ConnectionEnd.Refresh;

            case "events_api" or "interactive" or "slash_commands":
                var envelopeId = SlackPayloads.Text(envelope, "envelope_id");
                if (string.IsNullOrEmpty(envelopeId) || envelopeId.Length > 200)
                {
                    LogMalformed(log, type + " without envelope_id");
                    return null;
                }

                handlers.Add(Task.Run(() => HandleEnvelopeAsync(type, envelopeId, envelope, connection)));
                return null;

            default:
                LogMalformed(log, "unknown envelope type " + (type ?? "(none)"));
                return null;
        }
    }

    private async Task HandleEnvelopeAsync(string type, string envelopeId, JsonElement envelope, Connection connection)
    {
        try
        {
            if (!await seen.TryMarkSeenAsync("envelope:" + envelopeId, CancellationToken.None).ConfigureAwait(false))
            {
                LogRedelivered(log, envelopeId);
                await AckAsync(connection, envelopeId, null).ConfigureAwait(false);
                return;
            }

            envelope.TryGetProperty("payload", out var payload);
            switch (type)
            {
                case "slash_commands":
                    await HandleCommandAsync(envelopeId, envelope, payload, connection).ConfigureAwait(false);
                    break;

                case "interactive":
                    await AckAsync(connection, envelopeId, null).ConfigureAwait(false);
                    if (SlackPayloads.Text(payload, "type") == SlackPayloads.BlockActions)
                    {
                        var click = SlackPayloads.ParseBlockActions(payload);
                        if (click.Value is { } action)
                        {
                            inbound.AcceptClick(action);
                        }
                        else
                        {
                            LogMalformed(log, click.Error!);
                        }
                    }

                    break;

                case "events_api":
                    await AckAsync(connection, envelopeId, null).ConfigureAwait(false);
                    if (SlackPayloads.Text(payload, "type") == "event_callback")
                    {
                        var parsed = SlackPayloads.ParseEventCallback(payload);
                        if (parsed.Value is { } slackEvent)
                        {
                            await inbound.AcceptEventAsync(slackEvent, CancellationToken.None).ConfigureAwait(false);
                        }
                        else
                        {
                            LogMalformed(log, parsed.Error!);
                        }
                    }

                    break;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            LogAckFailed(log, envelopeId, ex.GetType().Name);
        }
    }

    private async Task HandleCommandAsync(string envelopeId, JsonElement envelope, JsonElement payload, Connection connection)
    {
        var parsed = SlackPayloads.ParseCommand(name => SlackPayloads.Text(payload, name));
        if (parsed.Value is not { } command)
        {
            LogMalformed(log, parsed.Error!);
            await AckAsync(connection, envelopeId, null).ConfigureAwait(false);
            return;
        }

        var acceptsPayload = envelope.TryGetProperty("accepts_response_payload", out var accepts) && accepts.ValueKind == JsonValueKind.True;
        var answer = await inbound.AcceptCommandAsync(command, acceptsPayload).ConfigureAwait(false);
        await AckAsync(connection, envelopeId, answer).ConfigureAwait(false);
    }

    private static async Task AckAsync(Connection connection, string envelopeId, JsonObject? payload)
    {
        var ack = new JsonObject { ["envelope_id"] = envelopeId };
        if (payload is not null)
        {
            ack["payload"] = payload;
        }

        var bytes = Encoding.UTF8.GetBytes(ack.ToJsonString());
        await connection.SendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await connection.Socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            connection.SendLock.Release();
        }
    }

    /// <returns>One whole text message, or null when the socket closed.</returns>
    private static async Task<byte[]?> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var result = await socket.ReceiveAsync(memory, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > MaxMessageBytes)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "message too large", cancellationToken).ConfigureAwait(false);
                throw new InvalidOperationException("a Socket Mode message is larger than 1 MiB");
            }

            if (result.EndOfMessage)
            {
                return result.MessageType == WebSocketMessageType.Text ? buffer.WrittenSpan.ToArray() : [];
            }
        }
    }

    private static async Task CloseQuietlyAsync(ClientWebSocket socket, SemaphoreSlim sendLock)
    {
        await sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "reconnecting", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // the connection is being replaced anyway
        }
        finally
        {
            sendLock.Release();
        }
    }

    private sealed record Connection(ClientWebSocket Socket, SemaphoreSlim SendLock);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack Socket Mode connected (connection {Count}).")]
    private static partial void LogHello(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack asked to reconnect: {Reason}.")]
    private static partial void LogDisconnect(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack Socket Mode connection failed: {Kind} {Detail}")]
    private static partial void LogConnectionError(ILogger logger, string kind, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "apps.connections.open failed: {Error}. Check Slack:AppToken (xapp-…, scope connections:write) and that Socket Mode is on in the app settings.")]
    private static partial void LogOpenFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack Socket Mode reconnecting in {DelayMs} ms.")]
    private static partial void LogReconnecting(ILogger logger, long delayMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack Socket Mode connection closed ({Status} {Description}).")]
    private static partial void LogClosed(ILogger logger, WebSocketCloseStatus? status, string? description);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a malformed Socket Mode message: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Socket Mode envelope {EnvelopeId} was already processed; acknowledged again only.")]
    private static partial void LogRedelivered(ILogger logger, string envelopeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not acknowledge Socket Mode envelope {EnvelopeId}: {Kind}")]
    private static partial void LogAckFailed(ILogger logger, string envelopeId, string kind);
}
