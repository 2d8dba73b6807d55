using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Chat.Slack;

/// <summary>Card key → posted message (channel, ts), so a card is posted once and updated in place afterwards.</summary>
public sealed class SlackCardMessages(BotDatabase database, SqliteWriteGate gate, TimeProvider time)
{
    public async Task<string?> FindTsAsync(string channel, string cardKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<string?>(
            "SELECT ts FROM slack_card_messages WHERE channel = @channel AND card_key = @cardKey",
            new { channel, cardKey }).ConfigureAwait(false);
    }

    /// <summary>The card shown by message <paramref name="ts"/>, when it is one of ours.</summary>
    public async Task<string?> FindCardKeyAsync(string channel, string ts, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<string?>(
            "SELECT card_key FROM slack_card_messages WHERE channel = @channel AND ts = @ts",
            new { channel, ts }).ConfigureAwait(false);
    }

    public async Task RecordAsync(string channel, string cardKey, string ts, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            """
            INSERT INTO slack_card_messages (channel, card_key, ts, posted_at, updated_at) VALUES (@channel, @cardKey, @ts, @now, @now)
            ON CONFLICT (channel, card_key) DO UPDATE SET ts = excluded.ts, posted_at = excluded.posted_at, updated_at = excluded.updated_at
            """,
            new { channel, cardKey, ts, now }).ConfigureAwait(false);
    }

    public async Task TouchAsync(string channel, string cardKey, CancellationToken cancellationToken)
    {
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "UPDATE slack_card_messages SET updated_at = @now WHERE channel = @channel AND card_key = @cardKey",
            new { channel, cardKey, now = time.GetUtcNow().ToUnixTimeMilliseconds() }).ConfigureAwait(false);
    }

    /// <summary>The message is gone (deleted in Slack): the next publish posts a new one.</summary>
    public async Task ForgetAsync(string channel, string cardKey, CancellationToken cancellationToken)
    {
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "DELETE FROM slack_card_messages WHERE channel = @channel AND card_key = @cardKey",
            new { channel, cardKey }).ConfigureAwait(false);
    }
}
