using ChatOpsPull.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Hosting;

/// <summary>
/// What makes the bot start the same way however it is started (<c>dotnet run</c>, the built executable from another
/// directory, a service manager, the container): settings next to the executable, the standard ASP.NET Core ways to
/// choose where it listens, and one default address when none of them is used.
/// </summary>
public static partial class HostDefaults
{
    /// <summary>Where the bot listens when nothing says otherwise: this machine only, port 8080.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>
    /// The executable's directory, where appsettings.json is; null (the host's own default) when the content root is
    /// chosen explicitly (<c>--contentRoot</c>, <c>ASPNETCORE_CONTENTROOT</c>, <c>DOTNET_CONTENTROOT</c>).
    /// </summary>
    public static string? ContentRoot(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var explicitly = args.Any(a => a.TrimStart('-').StartsWith("contentRoot", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"));
        return explicitly ? null : BotDirectories.ExecutableDirectory;
    }

    /// <summary>
    /// Adds the <c>CHATOPSPULL__</c> environment variables below the command line (so <c>--Section:Key=value</c> still
    /// wins, as for every other source), and listens on <see cref="DefaultUrl"/> unless an address is configured the
    /// ASP.NET Core way: <c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>/<c>HTTPS_PORTS</c>,
    /// <c>Urls</c> in a settings source, or <c>Kestrel:Endpoints</c>.
    /// </summary>
    public static void Apply(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var sources = ((IConfigurationBuilder)builder.Configuration).Sources;
        var commandLine = sources.Select((source, index) => (source, index)).LastOrDefault(s => s.source is CommandLineConfigurationSource);
        var prefixed = new Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource { Prefix = "CHATOPSPULL__" };
        if (commandLine.source is null)
        {
            sources.Add(prefixed);
        }
        else
        {
            sources.Insert(commandLine.index, prefixed);
        }

        var configuration = builder.Configuration;
        var chosen = !string.IsNullOrWhiteSpace(configuration["urls"])
            || !string.IsNullOrWhiteSpace(configuration["http_ports"])
            || !string.IsNullOrWhiteSpace(configuration["https_ports"])
            || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
        if (!chosen)
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }
    }

    /// <summary>Says once the host has started where its data is (the content root, where settings come from, is logged by ASP.NET Core).</summary>
    public static void LogDataDirectory(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var storage = app.Services.GetRequiredService<IOptions<Storage.StorageOptions>>().Value;
            var data = app.Services.GetRequiredService<IOptions<BotOptions>>().Value.DataDirectory;
            LogData(app.Logger, data, storage.Provider);
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Data directory: {DataDirectory} (database: {Provider}).")]
    private static partial void LogData(ILogger logger, string dataDirectory, Storage.DatabaseProvider provider);
}
