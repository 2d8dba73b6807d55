using System.Diagnostics;

namespace ChatOpsPull.Bench;

/// <summary>This bench binary started again as a child (stdin and stdout redirected), with <paramref name="arguments"/>.</summary>
internal static class BenchChildProcess
{
    public static Process Start(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            // Started as "dotnet ChatOpsPull.Bench.dll": the child needs the assembly path too.
            start.ArgumentList.Add(typeof(BenchChildProcess).Assembly.Location);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }
}
