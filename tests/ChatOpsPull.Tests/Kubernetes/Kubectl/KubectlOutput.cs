namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>Reading what kubectl printed.</summary>
public static class KubectlOutput
{
    /// <summary>The whitespace-separated cells of each printed line.</summary>
    public static List<string[]> Rows(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

    public static async Task Eventually(Func<bool> condition, string what, Infrastructure.ExternalProcess process)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                Assert.Fail($"timed out waiting for {what}; kubectl printed:\n{process.Output}");
            }

            await Task.Delay(50);
        }
    }

}
