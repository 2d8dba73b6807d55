using ChatOpsPull.Configuration;
using ChatOpsPull.Web;
using ChatOpsPull.Cli;
using ChatOpsPull.Cli.Demo;
using ChatOpsPull.Kubernetes;

namespace ChatOpsPull.Hosting;

/// <summary>
/// One executable, several verbs. <c>serve</c> (the default) runs the web host; the others are terminal tools.
/// </summary>
public static class CliApp
{
    private static readonly CliVerb[] Verbs =
    [
        new("serve", "Run the bot: web host, Slack/Teams endpoints, watcher and job server (default).", ServeAsync),
        new("help", "Show this help, or a command's usage: help <command>.", HelpAsync),
        ClassifyVerb.Verb,
        HealthCheckVerb.Verb,
        CheckVerb.Verb,
        DiagnoseVerb.Verb,
        TeamsPackageVerb.Verb,
        new(DemoVerb.Verb.Name, DemoVerb.Verb.Summary, DemoAsync, DemoVerb.Usage),
        new("hash-password", LocalUsersCli.Summary, LocalUsersCli.HashPasswordAsync),
        new("help", "Show this help.", (args, io) => Task.FromResult(Help(io.Out))),
    ];

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var io = new CliIo(stdin, stdout, stderr);
        if (args.Length == 0 || args[0].StartsWith('-') && args[0] is not "-h" and not "--help")
        {
            return await ServeAsync(args, io).ConfigureAwait(false);
        }

        var name = args[0];
        if (name is "-h" or "--help")
        {
            return Help(stdout);
        }

        var verb = Array.Find(Verbs, v => string.Equals(v.Name, name, StringComparison.Ordinal));
        if (verb is null)
        {
            await stderr.WriteLineAsync($"chatopspull: unknown command '{name}'. Run 'chatopspull help' to see the commands.").ConfigureAwait(false);
            return 2;
        }

        return await verb.RunAsync(args[1..], io).ConfigureAwait(false);
    }

    private static int Help(TextWriter stdout)
    {
        stdout.WriteLine("chatopspull — diagnoses Kubernetes image-pull failures and offers approved fixes in Slack and Teams.");
        stdout.WriteLine();
        stdout.WriteLine("usage: chatopspull [command] [options]");
        stdout.WriteLine();
        foreach (var verb in Verbs)
        {
            stdout.WriteLine($"  {verb.Name,-14} {verb.Summary}");
        }

        stdout.WriteLine();
        stdout.WriteLine("Configuration comes from appsettings.json, CHATOPSPULL__* environment variables and --Section:Key=value options.");
        return 0;
    }

    private static async Task<int> HelpAsync(string[] args, CliIo io)
    {
        if (args.Length == 0)
        {
            return Help(io.Out);
        }

        var verb = Array.Find(Verbs, v => string.Equals(v.Name, args[0], StringComparison.Ordinal));
        if (verb is null || args.Length > 1)
        {
            var what = verb is null ? $"unknown command '{args[0]}'" : $"unexpected argument '{args[1]}'";
            await io.Error.WriteLineAsync($"chatopspull help: {what}. Run 'chatopspull help' to see the commands.").ConfigureAwait(false);
            return 2;
        }

        await io.Out.WriteLineAsync(verb.Usage ?? $"usage: chatopspull {verb.Name}\n\n{verb.Summary}").ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// <c>demo --simulate</c>, or a bare <c>demo</c> on a machine with no kubeconfig at all, runs the bot against the
    /// simulated cluster; anything else is the real-cluster demo, which never falls back to the simulation.
    /// </summary>
    private static Task<int> DemoAsync(string[] args, CliIo io)
    {
        var simulate = args.Contains("--simulate", StringComparer.Ordinal) && !args.Any(a => a is "-h" or "--help");
        return simulate || (args.Length == 0 && KubernetesConnection.DefaultKubeconfigPath() is null)
            ? SimulatedDemo.RunAsync([.. args.Where(a => a != "--simulate")], io)
            : DemoVerb.RunAsync(args, io);
    }

    private static async Task<int> ServeAsync(string[] args, CliIo io)
    {
        if (args is ["-h" or "--help", ..])
        {
            return Help(io.Out);
        }

        if (ConfigurationArguments.Problem(args) is { } problem)
        {
            await io.Error.WriteLineAsync($"chatopspull serve: {problem}. Options are configuration values: --Section:Key=value (see 'chatopspull help').").ConfigureAwait(false);
            return 2;
        }

        return await StartupProblems.RunAsync(() => BotHost.Build(args), io.Error).ConfigureAwait(false);
    }
}
