using BenchmarkDotNet.Running;
using ChatOpsPull.Bench;

// dotnet run -c Release --project bench/ChatOpsPull.Bench -- --filter '*'                      (BenchmarkDotNet)
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- kubernetes-watch-memory [--pods 10000]
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- job-latency sqlite                 (console drivers: see Drivers)
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- slack-load --help
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- probe-load [--requests 5000] [--concurrency 16]
if (args.Length > 0 && args[0] == KubernetesWatchMemory.Mode)
{
    return await KubernetesWatchMemory.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == KubernetesWatchMemory.ChildMode)
{
    return await KubernetesWatchMemory.RunChildAsync(args[1..]);
}

if (Drivers.TryRun(args, out var driver))
{
    return await driver;
}

if (args.Length > 0 && args[0] == ProbeLoadDriver.Mode)
{
    return await ProbeLoadDriver.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "slack-load")
{
    return await SlackLoadDriver.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(ImageReferenceBenchmarks).Assembly).Run(args);
return 0;
