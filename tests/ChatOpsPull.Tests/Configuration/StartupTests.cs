using System.Net;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Infrastructure;

namespace ChatOpsPull.Tests.Configuration;

/// <summary>
/// The real executable (<c>dotnet chatopspull.dll serve</c>) started as a child process, as a person or the container
/// starts it: with no settings at all it runs on embedded SQLite and becomes ready; with a broken setting it stops at
/// once and says what to fix.
/// </summary>
public sealed class StartupTests
{
    private static readonly string Executable = Path.Combine(AppContext.BaseDirectory, "chatopspull.dll");

    [Fact]
    public async Task A_fresh_install_with_no_settings_starts_on_embedded_sqlite_and_becomes_ready()
    {
        var home = Directory.CreateTempSubdirectory("chatopspull-fresh-").FullName;
        try
        {
            var port = FreePort.Next();
            // A machine with no kubeconfig: HOME and the working directory are an empty directory, so no appsettings.json either.
            await using var bot = ExternalProcess.Start("dotnet", [Executable, "serve", $"--Urls=http://127.0.0.1:{port}"], home, FreshEnvironment(home));
            await bot.WaitForPortAsync(port, TimeSpan.FromSeconds(90));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Eventually.ValueAsync(
                async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode,
                status => status == HttpStatusCode.OK,
                "/readyz to answer 200",
                TimeSpan.FromSeconds(60));

            var data = Path.Combine(home, ".local", "share", "chatopspull");
            Assert.True(File.Exists(Path.Combine(data, "chatopspull.db")), "the bot database is created in the user's data directory\n" + bot.Output);
            Assert.True(File.Exists(Path.Combine(data, "hangfire.db")), "Hangfire's queue is created in the user's data directory\n" + bot.Output);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    public static TheoryData<string, string, string> BrokenSettings => new()
    {
        { "CHATOPSPULL__Jobs__WorkerCount", "0", "Jobs:WorkerCount must be between 1 and 100." },
        { "CHATOPSPULL__Jobs__WorkerCount", "many", "Failed to convert configuration value" },
        { "CHATOPSPULL__Bot__Cluster", "prod eu", "Bot:Cluster must be letters, digits, '.', '_' or '-' (at most 63)." },
        { "CHATOPSPULL__Storage__Provider", "Postgres", "Storage:ConnectionString must be set when Storage:Provider is Postgres" },
        { "CHATOPSPULL__Slack__BotToken", "xoxb-only-the-token", "Slack:SigningSecret must be set" },
        { "CHATOPSPULL__Alerts__Generic__BearerToken", "short", "Alerts:Generic:BearerToken must be at least 16 characters" },
        { "CHATOPSPULL__Routing__Routes__0__Namespace", "shop-*", "Routing:Routes:0:Channel must be set" },
        { "CHATOPSPULL__Bot__Profile", "ReadOnly", "at 'Bot:Profile' to type 'ChatOpsPull.Configuration.InstallProfile': set it to one of Remediate, Observe." },
        { "CHATOPSPULL__Bot__Profile", "7", "Bot:Profile must be Observe or Remediate" },
        { "CHATOPSPULL__Kubernetes__PullSecretNames__0", "Reg_Cred", "Kubernetes:PullSecretNames contains \"Reg_Cred\", which is not a Secret name" },
        { "CHATOPSPULL__Admission__Enabled", "true", "Admission:Enabled needs an https address on Admission:Port in Urls" },
        { "CHATOPSPULL__Admission__Budget", "00:00:05", "Admission:Budget must be more than 0 and less than the webhook's timeoutSeconds (3 s)" },
        { "CHATOPSPULL__Sweep__Cron", "every hour", "Sweep:Cron \"every hour\" is not a five-field cron expression" },
    };

    [Theory]
    [MemberData(nameof(BrokenSettings))]
    public async Task A_broken_setting_stops_the_bot_with_a_sentence_that_says_what_to_fix(string variable, string value, string sentence)
    {
        var home = Directory.CreateTempSubdirectory("chatopspull-broken-").FullName;
        try
        {
            var environment = FreshEnvironment(home);
            environment[variable] = value;
            var port = FreePort.Next();
            await using var bot = ExternalProcess.Start("dotnet", [Executable, "serve", $"--Urls=http://127.0.0.1:{port}"], home, environment);
            var exit = await bot.WaitForExitAsync(TimeSpan.FromSeconds(90));

            Assert.Equal(3, exit);
            Assert.Contains("the configuration is not valid, so the bot did not start", bot.Output, StringComparison.Ordinal);
            Assert.Contains(sentence, bot.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", bot.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static Dictionary<string, string> FreshEnvironment(string home) => new()
    {
        ["HOME"] = home,
        ["KUBECONFIG"] = string.Empty,
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
    };
}
