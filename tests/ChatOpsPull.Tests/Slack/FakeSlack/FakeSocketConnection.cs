using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Slack.FakeSlack;

/// <summary>The Slack side of one Socket Mode WebSocket: sends envelopes, collects the app's acknowledgements.</summary>
public sealed class FakeSocketConnection(WebSocket socket) : IAsyncDisposable
{
    private readonly ConcurrentQueue<JsonObject> _acks = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _delivered;

    public IReadOnlyList<JsonObject> Acks => _acks.ToArray();

    public Task Closed => _closed.Task;

    /// <summary>The app has not closed it (Slack delivers only to connections that are still open).</summary>
    public bool IsOpen => !_closed.Task.IsCompleted && socket.State == WebSocketState.Open;

    /// <summary>Envelopes this connection was handed (first deliveries and retries).</summary>
    public int Delivered => _delivered;

    public async Task SendAsync(JsonObject message)
    {
        if (message["envelope_id"] is not null)
        {
            Interlocked.Increment(ref _delivered);
        }

        await _sendLock.WaitAsync();
        try
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Waits for the acks of <paramref name="envelopeId"/> until there are <paramref name="count"/>.</summary>
    public async Task<IReadOnlyList<JsonObject>> WaitForAcksAsync(string envelopeId, int count, TimeSpan timeout) =>
        await Eventually.ValueAsync(
            () => Task.FromResult(_acks.Where(a => a["envelope_id"]?.GetValue<string>() == envelopeId).ToList()),
            acks => acks.Count >= count,
            $"{count} acknowledgement(s) of envelope {envelopeId}",
            timeout,
            acks => $"{acks.Count} acknowledgement(s)");

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, cancellationToken);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                        return;
                    }

                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (JsonNode.Parse(message.ToArray()) is JsonObject ack)
                {
                    _acks.Enqueue(ack);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // the app went away
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "test over", timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // already gone; the server disposes the socket when its request ends
        }

        _sendLock.Dispose();
    }
}
