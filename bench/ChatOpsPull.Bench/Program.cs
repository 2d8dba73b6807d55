using BenchmarkDotNet.Running;
using ChatOpsPull.Bench;

// dotnet run -c Release --project bench/ChatOpsPull.Bench -- --filter '*'           (BenchmarkDotNet)
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- job-latency sqlite      (console drivers: see Drivers)
if (Drivers.TryRun(args, out var driver))
{
    return await driver;
}

BenchmarkSwitcher.FromAssembly(typeof(ImageReferenceBenchmarks).Assembly).Run(args);
return 0;
