using System.Collections.Concurrent;
using System.Text;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>A webhook call as it arrived on the wire.</summary>
public sealed record ReceivedCall(string Path, string Body, bool HadAuthorization);

/// <summary>
/// The real bot host (BotHost.Build) listening on a free loopback port, so real senders such as Alertmanager can reach it,
/// with a recording sink in place of the incident store and a fresh data directory.
/// </summary>
public sealed class BotOnKestrel : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;

    private BotOnKestrel(WebApplication app, string dataDirectory, RecordingPullFailureSink sink, ConcurrentQueue<ReceivedCall> calls)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        Sink = sink;
        Calls = calls;
    }

    /// <summary>The port the system picked (the bot listens on port 0); known once it has started.</summary>
    public int Port { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public RecordingPullFailureSink Sink { get; }

    /// <summary>Every call to /alerts… as it arrived (body as text).</summary>
    public ConcurrentQueue<ReceivedCall> Calls { get; }

    public AlertWebhookCounts Counts => _app.Services.GetRequiredService<AlertWebhookCounts>();

    public static async Task<BotOnKestrel> StartAsync(IDictionary<string, string> settings)
    {
        var dataDirectory = Directory.CreateTempSubdirectory("chatopspull-alerts-").FullName;
        var args = new List<string>
        {
            $"--urls={BoundPort.LoopbackAnyPort}",
            $"--Bot:DataDirectory={dataDirectory}",
            "--Bot:Cluster=test-cluster",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:ChatOpsPull=Error",
        };
        args.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        var sink = new RecordingPullFailureSink();
        var calls = new ConcurrentQueue<ReceivedCall>();
        var app = BotHost.Build(args.ToArray(), builder =>
        {
            builder.Services.RemoveAll<IPullFailureSink>();
            builder.Services.AddSingleton<IPullFailureSink>(sink);
            builder.Services.AddSingleton<IStartupFilter>(new CallRecorder(calls));
        });
        var bot = new BotOnKestrel(app, dataDirectory, sink, calls);
        try
        {
            await app.StartAsync();
            bot.Port = BoundPort.Of(app);
        }
        catch
        {
            await bot.DisposeAsync();
            throw;
        }

        return bot;
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync();
        }
        catch (OperationCanceledException)
        {
            // never started
        }

        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp directory is left behind.
        }
    }

    /// <summary>Records the raw body of every /alerts… request before the endpoint reads it.</summary>
    private sealed class CallRecorder(ConcurrentQueue<ReceivedCall> calls) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path.StartsWithSegments("/alerts") && context.Request.ContentLength is <= 1024 * 1024)
                {
                    context.Request.EnableBuffering();
                    using var reader = new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true);
                    var body = await reader.ReadToEndAsync(context.RequestAborted);
                    context.Request.Body.Position = 0;
                    calls.Enqueue(new ReceivedCall(context.Request.Path, body, context.Request.Headers.Authorization.Count > 0));
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }
}
