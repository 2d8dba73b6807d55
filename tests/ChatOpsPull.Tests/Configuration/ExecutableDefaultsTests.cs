using System.Net;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Infrastructure;

namespace ChatOpsPull.Tests.Configuration;

/// <summary>
/// The built executable (the <c>chatopspull</c> app host), started as a real process from a directory that is not its
/// own — as a service manager, a published build or a person in another shell starts it. That directory holds a decoy
/// appsettings.json (another address, another data directory) and must be ignored: settings come from the executable's
/// directory, data goes to the user's data directory (or where Bot:DataDirectory says, relative to the executable), and
/// the address is chosen the ASP.NET Core way (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>),
/// with one default however the bot is started.
/// </summary>
public sealed class ExecutableDefaultsTests : IDisposable
{
    /// <summary>The host's own address variables are not inherited from whatever runs the tests.</summary>
    private static readonly string[] Inherited =
    [
        "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS", "DOTNET_HTTP_PORTS",
        "ASPNETCORE_CONTENTROOT", "DOTNET_CONTENTROOT", "XDG_DATA_HOME", "CHATOPSPULL__Urls", "CHATOPSPULL__Bot__DataDirectory",
    ];

    private readonly string _home = Directory.CreateTempSubdirectory("chatopspull-home-").FullName;
    private readonly string _elsewhere = Directory.CreateTempSubdirectory("chatopspull-cwd-").FullName;

    public ExecutableDefaultsTests()
    {
        File.WriteAllText(
            Path.Combine(_elsewhere, "appsettings.json"),
            """{ "Urls": "http://127.0.0.1:1", "Bot": { "DataDirectory": "decoy", "Cluster": "decoy" } }""");
    }

    private string UserDataDirectory => Path.Combine(_home, ".local", "share", "chatopspull");

    [Fact]
    public async Task Without_settings_it_listens_on_127_0_0_1_port_8080_and_keeps_its_data_in_the_users_data_directory()
    {
        await using var bot = Start([]);

        // Port 8080 may be taken on a shared machine: either way the bot must have chosen exactly this address.
        var line = await WaitForLineAsync(bot, l => l.Contains("Now listening on: ", StringComparison.Ordinal) || l.Contains("Failed to bind to address", StringComparison.Ordinal));
        Assert.Contains("http://127.0.0.1:8080", line, StringComparison.Ordinal);
        if (line.Contains("Now listening on", StringComparison.Ordinal))
        {
            await ReadyAsync(8080);
            AssertDatabaseIn(UserDataDirectory, bot);
        }

        AssertNothingWrittenInTheCurrentDirectory();
    }

    public static TheoryData<string, string?, string?> AddressSettings => new()
    {
        // how, environment variable (NAME=value, {port} filled in), command-line option
        { "ASPNETCORE_URLS", "ASPNETCORE_URLS=http://127.0.0.1:{port}", null },
        { "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTP_PORTS={port}", null },
        { "--urls", null, "--urls=http://127.0.0.1:{port}" },
        { "--urls over ASPNETCORE_URLS", "ASPNETCORE_URLS=http://127.0.0.1:1", "--urls=http://127.0.0.1:{port}" },
        { "CHATOPSPULL__Urls", "CHATOPSPULL__Urls=http://127.0.0.1:{port}", null },
        { "--urls over CHATOPSPULL__Urls", "CHATOPSPULL__Urls=http://127.0.0.1:1", "--urls=http://127.0.0.1:{port}" },
    };

    [Theory]
    [MemberData(nameof(AddressSettings))]
    public async Task The_standard_ASP_NET_Core_address_settings_choose_where_it_listens(string how, string? variable, string? option)
    {
        var port = FreePort.Next();
        var environment = new Dictionary<string, string>();
        if (variable is not null)
        {
            var (name, value) = (variable[..variable.IndexOf('=', StringComparison.Ordinal)], variable[(variable.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            environment[name] = value.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        string[] arguments = option is null ? [] : [option.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)];
        await using var bot = Start(arguments, environment);

        await bot.WaitForPortAsync(port, TimeSpan.FromSeconds(90));
        await ReadyAsync(port);
        Assert.True(bot.Output.Contains($":{port}", StringComparison.Ordinal), $"{how}: the bot does not say it listens on {port}:\n{bot.Output}");
        AssertDatabaseIn(UserDataDirectory, bot);
        AssertNothingWrittenInTheCurrentDirectory();
    }

    [Fact]
    public async Task XDG_DATA_HOME_moves_the_default_data_directory()
    {
        var dataHome = Path.Combine(_home, "xdg");
        var port = FreePort.Next();
        await using var bot = Start([$"--urls=http://127.0.0.1:{port}"], new Dictionary<string, string> { ["XDG_DATA_HOME"] = dataHome });

        await bot.WaitForPortAsync(port, TimeSpan.FromSeconds(90));
        await ReadyAsync(port);
        AssertDatabaseIn(Path.Combine(dataHome, "chatopspull"), bot);
        AssertNothingWrittenInTheCurrentDirectory();
    }

    [Fact]
    public async Task A_relative_data_directory_is_taken_from_the_executables_directory_not_the_current_one()
    {
        var relative = "data-" + Guid.NewGuid().ToString("N")[..8];
        var expected = Path.Combine(AppContext.BaseDirectory, relative);
        try
        {
            var port = FreePort.Next();
            await using var bot = Start([$"--urls=http://127.0.0.1:{port}", $"--Bot:DataDirectory={relative}"]);

            await bot.WaitForPortAsync(port, TimeSpan.FromSeconds(90));
            await ReadyAsync(port);
            AssertDatabaseIn(expected, bot);
            AssertNothingWrittenInTheCurrentDirectory();
        }
        finally
        {
            if (Directory.Exists(expected))
            {
                Directory.Delete(expected, recursive: true);
            }
        }
    }

    public void Dispose()
    {
        foreach (var directory in new[] { _home, _elsewhere })
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // a file still held by the stopped process; the temp directory is left behind
            }
        }
    }

    /// <summary>The app host next to the test assembly, as a published build has it; <c>dotnet chatopspull.dll</c> where there is none.</summary>
    private ExternalProcess Start(string[] arguments, Dictionary<string, string>? environment = null)
    {
        var appHost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "chatopspull.exe" : "chatopspull");
        var all = new Dictionary<string, string>(environment ?? [])
        {
            ["HOME"] = _home,
            ["KUBECONFIG"] = string.Empty,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is null && Path.GetDirectoryName(Environment.ProcessPath) is { } runtimeHost
            && File.Exists(Path.Combine(runtimeHost, "dotnet")))
        {
            all["DOTNET_ROOT"] = runtimeHost;
        }

        return File.Exists(appHost)
            ? ExternalProcess.Start(appHost, ["serve", .. arguments], _elsewhere, all, Inherited)
            : ExternalProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "chatopspull.dll"), "serve", .. arguments], _elsewhere, all, Inherited);
    }

    private static async Task<string> WaitForLineAsync(ExternalProcess bot, Func<string, bool> wanted)
    {
        string? found = null;
        await Eventually.ValueAsync(
            () => Task.FromResult(found = bot.Output.Split('\n').FirstOrDefault(wanted)),
            line => line is not null || bot.HasExited,
            "the bot to say where it listens",
            TimeSpan.FromSeconds(90));
        return found ?? throw new InvalidOperationException("the bot exited without saying where it listens:\n" + bot.Output);
    }

    private static async Task ReadyAsync(int port)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await Eventually.ValueAsync(
            async () =>
            {
                try
                {
                    return (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode;
                }
                catch (HttpRequestException)
                {
                    return HttpStatusCode.ServiceUnavailable;
                }
            },
            status => status == HttpStatusCode.OK,
            "/readyz to answer 200",
            TimeSpan.FromSeconds(60));
    }

    private static void AssertDatabaseIn(string directory, ExternalProcess bot)
    {
        Assert.Contains($"Data directory: {directory} (database: Sqlite)", bot.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(directory, "chatopspull.db")), $"the bot database is not in {directory}\n{bot.Output}");
        Assert.True(File.Exists(Path.Combine(directory, "hangfire.db")), $"Hangfire's queue is not in {directory}\n{bot.Output}");
    }

    private void AssertNothingWrittenInTheCurrentDirectory() =>
        Assert.Equal(["appsettings.json"], Directory.EnumerateFileSystemEntries(_elsewhere).Select(Path.GetFileName));
}
