using BenchmarkDotNet.Running;
using ChatOpsPull.Bench;

// dotnet run -c Release --project bench/ChatOpsPull.Bench -- --filter '*'
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- kubernetes-watch-memory [--pods 10000]
return args.FirstOrDefault() switch
{
    KubernetesWatchMemory.Mode => await KubernetesWatchMemory.RunAsync(args[1..]),
    KubernetesWatchMemory.ChildMode => await KubernetesWatchMemory.RunChildAsync(args[1..]),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(ImageReferenceBenchmarks).Assembly).Run(args);
    return 0;
}
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- --filter '*'           (BenchmarkDotNet)
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- job-latency sqlite      (console drivers: see Drivers)
if (Drivers.TryRun(args, out var driver))
    return await driver;

BenchmarkSwitcher.FromAssembly(typeof(ImageReferenceBenchmarks).Assembly).Run(args);
return 0;
