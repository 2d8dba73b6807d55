using Npgsql;

namespace ChatOpsPull.Tests.Storage;

/// <summary>What the PostgreSQL fixtures share.</summary>
public static class Postgres
{
    /// <summary>Waits until a connection to <paramref name="connectionString"/> opens; fails with the last error when it never does.</summary>
    public static Task AcceptsConnectionsAsync(string connectionString, TimeSpan timeout) =>
        Eventually.ValueAsync(
            async () =>
            {
                try
                {
                    await using var connection = new NpgsqlConnection(connectionString);
                    await connection.OpenAsync();
                    return null;
                }
                catch (NpgsqlException e)
                {
                    return e.Message; // not listening yet, or "the database system is starting up" (57P03)
                }
            },
            error => error is null,
            "PostgreSQL to accept connections",
            timeout,
            error => error ?? "connected");
}
