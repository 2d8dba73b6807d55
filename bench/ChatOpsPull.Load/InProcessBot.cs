using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChatOpsPull.Hosting;

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

/// <summary>The real bot host (BotHost.Build, Kestrel) on a free loopback port with a counting sink and a throwaway data directory.</summary>
public sealed class InProcessBot : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;

    private InProcessBot(WebApplication app, string dataDirectory, Uri url, string token, CountingSink sink)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        Url = url;
        Token = token;
        Sink = sink;
    }

    public Uri Url { get; }

    public string Token { get; }

    public CountingSink Sink { get; }

    public static async Task<InProcessBot> StartAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var dataDirectory = Directory.CreateTempSubdirectory("chatopspull-load-").FullName;
        var sink = new CountingSink();
        var app = BotHost.Build(
            [
                $"--urls=http://127.0.0.1:{port}",
                $"--Bot:DataDirectory={dataDirectory}",
                $"--Alerts:Alertmanager:BearerToken={token}",
                "--Logging:LogLevel:Default=Warning",
            ],
            builder =>
            {
                builder.Services.RemoveAll<IPullFailureSink>();
                builder.Services.AddSingleton<IPullFailureSink>(sink);
            });
        await app.StartAsync().ConfigureAwait(false);
        return new InProcessBot(app, dataDirectory, new Uri($"http://127.0.0.1:{port}/"), token, sink);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
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
