using System.Collections.Concurrent;
using System.Text;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Detection.Webhooks.Inbox;
using ChatOpsPull.Incidents;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>A webhook call as it arrived on the wire.</summary>
public sealed record ReceivedCall(string Path, string Body, bool HadAuthorization);

/// <summary>
/// The real bot host (BotHost.Build) on Kestrel, listening on a loopback port the system picks, so real senders (Alertmanager,
/// an API server calling the admission webhook, a browser) can reach it; with a fresh data directory, the /alerts calls
/// recorded as they arrived, and by default a recording sink in place of the incident store.
/// The in-memory way to start the bot is <see cref="BotTestHost"/>; these two are the only ones.
/// <code>
/// await using var bot = await BotOnKestrel.StartAsync(new Dictionary&lt;string, string&gt; { ["Alerts:Generic:HmacSecret"] = secret });
/// using var client = bot.CreateClient();
/// </code>
/// </summary>
public sealed class BotOnKestrel : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;
    private readonly RecordingPullFailureSink? _sink;

    private BotOnKestrel(WebApplication app, string dataDirectory, RecordingPullFailureSink? sink, ConcurrentQueue<ReceivedCall> calls)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        _sink = sink;
        Calls = calls;
    }

    /// <summary>The HTTP port the system picked (the bot listens on port 0); known once it has started.</summary>
    public int Port { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public IServiceProvider Services => _app.Services;

    /// <summary>What reached the incident store's place (only when started with <c>recordPullFailures</c>).</summary>
    public RecordingPullFailureSink Sink => _sink ?? throw new InvalidOperationException("this bot was started with its own incident store (recordPullFailures: false)");

    /// <summary>Every call to /alerts… as it arrived (body as text).</summary>
    public ConcurrentQueue<ReceivedCall> Calls { get; }

    public AlertWebhookCounts Counts => _app.Services.GetRequiredService<AlertWebhookCounts>();

    public T Get<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    /// <param name="settings">Settings as on the command line; they win over the defaults here (a "urls" with a second, https address; a Bot:DataDirectory of the test's own).</param>
    /// <param name="services">Further test services, registered last (so they replace the bot's own).</param>
    /// <param name="recordPullFailures">Put a <see cref="RecordingPullFailureSink"/> in place of the incident store.</param>
    public static async Task<BotOnKestrel> StartAsync(IDictionary<string, string> settings, Action<IServiceCollection>? services = null, bool recordPullFailures = true)
    {
        var dataDirectory = Directory.CreateTempSubdirectory("chatopspull-kestrel-").FullName;
        var args = new List<string>
        {
            $"--urls={BoundPort.LoopbackAnyPort}",
            $"--Bot:DataDirectory={dataDirectory}",
            "--Bot:Cluster=test-cluster",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:ChatOpsPull=Error",
        };
        args.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        var sink = recordPullFailures ? new RecordingPullFailureSink() : null;
        var calls = new ConcurrentQueue<ReceivedCall>();
        var app = BotHost.Build(args.ToArray(), builder =>
        {
            if (sink is not null)
            {
                builder.Services.RemoveAll<IPullFailureSink>();
                builder.Services.AddSingleton<IPullFailureSink>(sink);
            }

            builder.Services.AddSingleton<IStartupFilter>(new CallRecorder(calls));
            services?.Invoke(builder.Services);
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

    /// <summary>A client of the bot; after an alert webhook's 200 it waits until the alert inbox is applied (<see cref="InboxAppliedHandler"/>).</summary>
    public HttpClient CreateClient() =>
        new(new InboxAppliedHandler(_app.Services.GetRequiredService<AlertInbox>())) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

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
