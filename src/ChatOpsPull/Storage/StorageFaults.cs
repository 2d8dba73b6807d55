using Microsoft.Data.Sqlite;
using Npgsql;

namespace ChatOpsPull.Storage;

/// <summary>
/// Which database errors mean "the store cannot write now" — the server is down or restarting, the connection broke,
/// the disk is full, the file cannot be written — as opposed to a bad statement, a constraint or a lost race. Work that
/// failed this way is worth holding and trying again once the database is back; nothing about the work itself was wrong.
/// </summary>
public static class StorageFaults
{
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        InvalidOperationException { InnerException: { } inner } => IsUnavailable(inner),
        AggregateException { InnerException: { } inner } => IsUnavailable(inner),
        IOException or System.Net.Sockets.SocketException => true,
        _ => SqlDialects.All.Any(d => d.IsUnavailable(exception)),
    };

    /// <summary>The longest pause between two tries of work held while the store cannot write.</summary>
    public static readonly TimeSpan MaxHoldPause = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs <paramref name="work"/>, and again while it fails because the store cannot write (<see cref="IsUnavailable"/>):
    /// the n-th pause is n × <paramref name="firstPause"/>, at most <see cref="MaxHoldPause"/>. For work whose result must
    /// not be lost — a report already taken from its source, the record of a message already sent — where giving up
    /// means losing it or doing it twice. Any other failure, or cancellation, ends the hold and propagates.
    /// </summary>
    /// <param name="onHold">Told each failed try (its number, from 1, and the error), e.g. to log the first.</param>
    public static async Task<T> HoldWhileUnavailableAsync<T>(
        Func<CancellationToken, Task<T>> work, TimeSpan firstPause, Action<int, Exception>? onHold, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await work(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
            {
                onHold?.Invoke(tries, e);
                var pause = TimeSpan.FromTicks(Math.Clamp(firstPause.Ticks * tries, TimeSpan.FromMilliseconds(10).Ticks, MaxHoldPause.Ticks));
                await Task.Delay(pause, time ?? TimeProvider.System, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc cref="HoldWhileUnavailableAsync{T}"/>
    public static Task HoldWhileUnavailableAsync(
        Func<CancellationToken, Task> work, TimeSpan firstPause, Action<int, Exception>? onHold, CancellationToken cancellationToken, TimeProvider? time = null) =>
        HoldWhileUnavailableAsync(
            async token =>
            {
                await work(token).ConfigureAwait(false);
                return true;
            },
            firstPause,
            onHold,
            cancellationToken,
            time);

    /// <summary>What went wrong, in a few words: the driver's message (never a password), on one line, shortened.</summary>
    public static string Describe(Exception exception)
    {
        var message = exception switch
        {
            SqliteException sqlite => $"SQLite error {sqlite.SqliteErrorCode}: {sqlite.Message}",
            PostgresException pg => $"PostgreSQL {pg.SqlState}: {pg.MessageText}",
            _ => $"{exception.GetType().Name}: {exception.Message}",
        };
        message = message.ReplaceLineEndings(" ");
        return message.Length > 200 ? message[..200] + "…" : message;
    }
}
