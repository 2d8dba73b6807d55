using System.Net;
using System.Text.Json;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ChatOpsPull.Tests.Observability;

/// <summary><c>/readyz</c> against the real host on SQLite and on a real PostgreSQL whose database stops taking connections.</summary>
[Collection(UsesPostgres.Name)]
public sealed class ReadinessTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_fresh_sqlite_install_is_ready_and_says_what_it_checked()
    {
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage);
        using var client = host.CreateClient();

        var (status, body) = await ReadyzAsync(client);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        var checks = body.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("ready").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["database"] = true, ["writes"] = true, ["migrations"] = true, ["jobs"] = true }, checks);
    }

    [Fact]
    public async Task A_missing_schema_migration_makes_the_bot_not_ready_and_names_it()
    {
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage);
        using var client = host.CreateClient();
        var database = host.Services.GetRequiredService<BotDatabase>();
        string removed;
        await using (var connection = await database.OpenAsync())
        {
            removed = await connection.ExecuteScalarAsync<string>("SELECT id FROM schema_migrations ORDER BY id DESC LIMIT 1") ?? throw new InvalidOperationException("no migrations");
            await connection.ExecuteAsync("DELETE FROM schema_migrations WHERE id = @removed", new { removed });
        }

        var (status, body) = await ReadyzAsync(client);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("not_ready", body.GetProperty("status").GetString());
        var migrations = Check(body, "migrations");
        Assert.False(migrations.GetProperty("ready").GetBoolean());
        Assert.Contains(removed, migrations.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(Check(body, "database").GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task A_postgres_database_that_refuses_connections_makes_the_bot_not_ready_until_it_is_back()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var host = new BotTestHost(storage);
        using var client = host.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await ReadyzAsync(client)).Status);
        var name = new NpgsqlConnectionStringBuilder(storage.ConnectionString).Database!;

        await AdminAsync($"ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid();");
        try
        {
            var (_, down) = await Eventually.ValueAsync(() => ReadyzAsync(client), r => r.Status == HttpStatusCode.ServiceUnavailable, "/readyz to answer 503");
            Assert.False(Check(down, "database").GetProperty("ready").GetBoolean());
            Assert.False(Check(down, "jobs").GetProperty("ready").GetBoolean());
            Assert.DoesNotContain("Password", down.GetRawText(), StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(storage.ConnectionString!, down.GetRawText(), StringComparison.Ordinal);

            using var liveness = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, liveness.StatusCode); // liveness does not depend on the database
        }
        finally
        {
            await AdminAsync($"ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS true;");
        }

        await Eventually.ValueAsync(() => ReadyzAsync(client), r => r.Status == HttpStatusCode.OK, "/readyz to answer 200 again", TimeSpan.FromSeconds(60));
    }

    private async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(postgres.AdminConnectionString);
        await connection.OpenAsync();
        await connection.ExecuteAsync(sql);
    }

    private static JsonElement Check(JsonElement body, string name) =>
        body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyzAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }
}
