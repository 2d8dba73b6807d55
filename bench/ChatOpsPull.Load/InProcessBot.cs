using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using ChatOpsPull.Bench;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.AspNetCore.Http;
using ChatOpsPull.Incidents;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChatOpsPull.Hosting;
using ChatOpsPull.Detection.Webhooks.Inbox;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Load;

/// <summary>Counts what the webhooks deliver, standing in for the incident store.</summary>
public sealed class CountingSink : IPullFailureSink
{
    private long _reported;
    private long _resolved;

    public long Reported => Interlocked.Read(ref _reported);

    public long Resolved => Interlocked.Read(ref _resolved);

    public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reported);
        return Task.CompletedTask;
    }

    public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _resolved);
        return Task.CompletedTask;
    }
}

/// <summary>Where the in-process bot's webhooks deliver: a counting sink, or the real incident engine and store.</summary>
public enum LoadStore
{
    Counting,
    Sqlite,
    Postgres,
}

/// <summary>
/// The real bot host (BotHost.Build, Kestrel) on a free loopback port with a throwaway data directory, delivering into a
/// counting sink or into the real incident engine with its SQLite file or a throwaway PostgreSQL cluster. The same host
/// also answers <see cref="EmptyPath"/>: an endpoint that reads the body and answers 200, the floor for the webhook.
/// </summary>
public sealed class InProcessBot : IAsyncDisposable
{
    /// <summary>The floor: same host, same Kestrel, no authentication, no parsing, no store.</summary>
    public const string EmptyPath = "load/empty";

    private readonly WebApplication _app;
    private readonly string _dataDirectory;
    private readonly ThrowawayPostgres? _postgres;

    private InProcessBot(WebApplication app, string dataDirectory, ThrowawayPostgres? postgres, Uri url, string token, CountingSink? sink)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        _postgres = postgres;
        Url = url;
        Token = token;
        Sink = sink;
    }

    public Uri Url { get; }

    public string Token { get; }

    /// <summary>The counting sink, or null when the webhooks deliver into the incident store.</summary>
    public CountingSink? Sink { get; }

    /// <summary>Pods the incident store holds (each alert of the load names a pod never used before).</summary>
    public async Task<long> StoredPodsAsync()
    {
        var database = _app.Services.GetRequiredService<BotDatabase>();
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incident_pods").ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the alert inbox still holds a row (an accepted request whose alerts are not in incidents yet): one step of
    /// the primary key's index, however many rows the inbox and the incident store hold. The completion poll asks this
    /// every 50 ms; <see cref="StoredPodsAsync"/> (a count over every stored pod, which on PostgreSQL starts parallel-query
    /// workers over ~400,000 rows) runs once before and once after. A row leaves the inbox in the transaction that stores
    /// its alerts (or is moved to the quarantine, which the final count then shows as lost).
    /// </summary>
    public async Task<bool> InboxHoldsRowsAsync()
    {
        var database = _app.Services.GetRequiredService<BotDatabase>();
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long?>("SELECT id FROM alert_inbox ORDER BY id LIMIT 1").ConfigureAwait(false) is not null;
    }

    /// <summary>Accepted requests whose alerts the incident engine has not applied yet.</summary>
    public async Task<long> InboxRowsAsync()
    {
        var database = _app.Services.GetRequiredService<BotDatabase>();
        await using var connection = await database.OpenAsync().ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM alert_inbox").ConfigureAwait(false);
    }

    /// <summary>The inbox drain's counts so far (batches, subject transactions, rows, their time).</summary>
    public DrainCounts DrainCounts() =>
        _app.Services.GetServices<IHostedService>().OfType<AlertInboxDrain>().Single().Counts;

    /// <summary>The alert inbox's append counts so far (requests, commits, where the requests' wait went).</summary>
    public InboxCounts InboxCounts() => _app.Services.GetRequiredService<AlertInbox>().Counts;

    /// <summary>The throwaway PostgreSQL cluster's connection string, when the store is PostgreSQL.</summary>
    public string? PostgresConnectionString => _postgres?.ConnectionString;

    /// <param name="botSettings">Settings of the bot's, as on its command line (<c>--Section:Key=value</c>), after the driver's own.</param>
    public static async Task<InProcessBot> StartAsync(LoadStore store = LoadStore.Counting, IReadOnlyList<string>? botSettings = null)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var dataDirectory = Directory.CreateTempSubdirectory("chatopspull-load-").FullName;
        var sink = store == LoadStore.Counting ? new CountingSink() : null;
        var postgres = store == LoadStore.Postgres ? await ThrowawayPostgres.StartAsync().ConfigureAwait(false) : null;
        List<string> settings =
        [
            $"--urls=http://127.0.0.1:{port}",
            $"--Bot:DataDirectory={dataDirectory}",
            $"--Alerts:Alertmanager:BearerToken={token}",
            "--Kubernetes:WatchEnabled=false",
            "--Logging:LogLevel:Default=Warning",
        ];
        if (postgres is not null)
        {
            settings.Add("--Storage:Provider=Postgres");
            settings.Add("--Storage:ConnectionString=" + postgres.ConnectionString);
        }

        settings.AddRange(botSettings ?? []);

        var app = BotHost.Build(
            [.. settings],
            builder =>
            {
                if (sink is not null)
                {
                    builder.Services.RemoveAll<IPullFailureSink>();
                    builder.Services.AddSingleton<IPullFailureSink>(sink);
                }
            });
        app.MapPost("/" + EmptyPath, async (HttpContext context) =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null).ConfigureAwait(false);
            return Results.Ok();
        });
        await app.StartAsync().ConfigureAwait(false);
        return new InProcessBot(app, dataDirectory, postgres, new Uri($"http://127.0.0.1:{port}/"), token, sink);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // left in the temp directory
        }
    }
}
