namespace ChatOpsPull.Cli;

/// <summary>
/// The bot's configuration as a terminal verb reads it, in the host's order: appsettings.json next to the executable,
/// <c>CHATOPSPULL__</c> environment variables, then <c>--Section:Key=value</c> options.
/// </summary>
public static class CliConfiguration
{
    public static IConfiguration Build(IReadOnlyList<string> settings) =>
        new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(BotDirectories.ExecutableDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables("CHATOPSPULL__")
            .AddCommandLine(settings.ToArray())
            .Build();
}
