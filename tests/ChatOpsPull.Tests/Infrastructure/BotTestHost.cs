using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using ChatOpsPull.Tests.Storage;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// The real host (Program → BotHost) on a given storage, with extra settings and service overrides.
/// <code>
/// await using var host = new BotTestHost(storage, new() { ["Jobs:WorkerCount"] = "2" }, s => s.AddSingleton&lt;IIncidentNotifier, RecordingNotifier&gt;());
/// var client = host.CreateClient();
/// var store = host.Services.GetRequiredService&lt;IncidentStore&gt;();
/// </code>
/// Services are built on first use of <see cref="WebApplicationFactory{TEntryPoint}.Services"/> or a client; hosted services
/// (migrations, Hangfire server) start then.
/// </summary>
public sealed class BotTestHost : WebApplicationFactory<Program>
{
    private readonly TestStorage _storage;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public BotTestHost(TestStorage storage, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        _storage = storage;
        _settings = settings ?? [];
        _services = services;
    }

    public TestStorage Storage => _storage;

    /// <summary>
    /// False: the bot's own hosted services (schema migrations, the Hangfire server, watchers, senders, schedules) are
    /// left out, so the services can be read without anything running in the background — for a test that drives a part
    /// itself (the schema migrations). ASP.NET Core's own hosted services stay, so clients still work.
    /// </summary>
    public bool BackgroundWork { get; init; } = true;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        var all = new Dictionary<string, string?>(_storage.Settings);
        all["Jobs:WorkerCount"] = "2";
        foreach (var (key, value) in _settings)
        {
            all[key] = value;
        }

        foreach (var (key, value) in all)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(all));
        if (_services is not null)
        {
            builder.ConfigureServices(_services);
        }

        if (!BackgroundWork)
        {
            builder.ConfigureTestServices(services =>
            {
                foreach (var hosted in services.Where(d => d.ServiceType == typeof(IHostedService) && !IsFrameworkOwn(d)).ToList())
                {
                    services.Remove(hosted);
                }
            });
        }
    }

    /// <summary>A hosted service of ASP.NET Core or Microsoft.Extensions (the web host itself), not one of the bot's.</summary>
    private static bool IsFrameworkOwn(ServiceDescriptor descriptor)
    {
        var type = descriptor.IsKeyedService ? descriptor.KeyedImplementationType : descriptor.ImplementationType;
        return type?.Namespace is { } ns && (ns.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || ns.StartsWith("Microsoft.Extensions", StringComparison.Ordinal));
    }
}
