namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>Reading what kubectl printed.</summary>
public static class KubectlOutput
{
    /// <summary>The whitespace-separated cells of each printed line.</summary>
    public static List<string[]> Rows(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
}
