using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>Runs the command line in process (no web host unless the verb is serve) and captures what it printed.</summary>
public static class CliRun
{
    public static async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        using var stdin = new StringReader(string.Empty);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdin, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
