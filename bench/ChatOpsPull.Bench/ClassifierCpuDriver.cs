using System.Diagnostics;
using System.Globalization;
using ChatOpsPull.Core.Classification;

namespace ChatOpsPull.Bench;

/// <summary>
/// The classifier's cost in CPU time per message, beside the same floor as <see cref="ClassifierBenchmarks"/>: on a
/// shared machine (load 15–60 on 2 cores) wall-clock figures mostly measure how long the process waited for a core,
/// while CPU time counts only the time it ran. Each kind is measured in rounds of 200,000 calls; the first round warms
/// up and the median and least of the others are printed, with the bytes one call allocates (last round).
/// </summary>
internal static class ClassifierCpuDriver
{
    public const string Mode = "classifier-cpu";

    public static int Run(string[] args)
    {
        var rounds = args.Length >= 2 && args[0] == "--rounds" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        const int calls = 200_000;
        var process = Process.GetCurrentProcess();
        var lower = new char[4096];
        var sink = 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average {File.ReadAllText("/proc/loadavg").Trim()}"));
        foreach (var (kind, (message, reason)) in ClassifierBenchmarks.Messages)
        {
            var classify = new List<double>();
            var floor = new List<double>();
            var allocated = 0L;
            for (var round = 0; round <= rounds; round++)
            {
                process.Refresh();
                var start = process.TotalProcessorTime;
                var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < calls; i++)
                {
                    sink += (int)MessageClassifier.Classify(message, reason).Cause;
                }

                allocated = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;

                process.Refresh();
                var middle = process.TotalProcessorTime;
                for (var i = 0; i < calls; i++)
                {
                    var span = lower.AsSpan(0, message.Length);
                    message.AsSpan().ToLowerInvariant(span);
                    sink += span.IndexOf("manifest unknown", StringComparison.Ordinal);
                }

                process.Refresh();
                if (round > 0)
                {
                    classify.Add((middle - start).TotalNanoseconds / calls);
                    floor.Add((process.TotalProcessorTime - middle).TotalNanoseconds / calls);
                }
            }

            classify.Sort();
            floor.Sort();
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{kind,-22} classify median {classify[classify.Count / 2],6:F0} ns CPU (least {classify[0],5:F0})   floor median {floor[floor.Count / 2],4:F0} ns (least {floor[0],4:F0})   ratio {classify[classify.Count / 2] / floor[floor.Count / 2],5:F1}   allocated {allocated / (double)calls,4:F0} B/call"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average {File.ReadAllText("/proc/loadavg").Trim()} ({sink & 1})"));
        return 0;
    }
}
