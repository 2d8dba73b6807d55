using Microsoft.Extensions.Options;

namespace ChatOpsPull.Configuration;

/// <summary>
/// Where the bot reads its settings and writes its data, decided from the executable's location and the configuration —
/// never from the current directory, which depends on who started the process (a shell, a service manager, <c>dotnet
/// run</c>, a container).
/// </summary>
public static class BotDirectories
{
    /// <summary>The directory of the executable: appsettings.json is read from here (the host's content root).</summary>
    public static string ExecutableDirectory => AppContext.BaseDirectory;

    /// <summary>
    /// The default data directory: <c>chatopspull</c> in the user's local data directory (<c>$XDG_DATA_HOME</c>, else
    /// <c>~/.local/share</c> on Linux; <c>%LOCALAPPDATA%</c> on Windows); null when the user has no home directory.
    /// </summary>
    public static string? UserDataDirectory
    {
        get
        {
            var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
            return string.IsNullOrEmpty(root) ? null : Path.Combine(root, "chatopspull");
        }
    }

    /// <summary>The absolute data directory for a configured value; null when it is empty and there is no user data directory.</summary>
    public static string? ResolveDataDirectory(string? configured, string baseDirectory)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            return UserDataDirectory;
        }

        var expanded = configured.StartsWith("~/", StringComparison.Ordinal)
            && Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home
                ? Path.Combine(home, configured[2..])
                : configured;
        return Path.GetFullPath(expanded, baseDirectory);
    }
}

/// <summary>Turns Bot:DataDirectory into an absolute path before anyone reads it (see <see cref="BotDirectories"/>).</summary>
public sealed class ResolveDataDirectory(string baseDirectory) : IPostConfigureOptions<BotOptions>, IValidateOptions<BotOptions>
{
    public void PostConfigure(string? name, BotOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.DataDirectory = BotDirectories.ResolveDataDirectory(options.DataDirectory, baseDirectory) ?? string.Empty;
    }

    public ValidateOptionsResult Validate(string? name, BotOptions options) =>
        options is { DataDirectory.Length: > 0 }
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Bot:DataDirectory must be set: this user has no home directory to keep the data in (e.g. --Bot:DataDirectory=/var/lib/chatopspull).");
}
