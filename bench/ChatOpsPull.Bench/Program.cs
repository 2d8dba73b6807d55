using BenchmarkDotNet.Running;
using ChatOpsPull.Bench;

// dotnet run -c Release --project bench/ChatOpsPull.Bench -- --filter '*'                      (BenchmarkDotNet)
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- kubernetes-watch-memory [--pods 10000]
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- job-latency sqlite                 (console drivers: see Drivers)
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- slack-load --help
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- pull-failure-latency [--pods 1000] [--workloads 20] [--rate 200] [--api-process]
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- digest-build [--incidents 10000] [--pulls 100000] [--runs 5]
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- remediation sqlite|postgres [--clicks 60] [--jobs 200]
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- web-page-load [--incidents 50] [--requests 2000] [--concurrency 8] [--path /web/cards]
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- probe-load [--requests 5000] [--concurrency 16]
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- admission-load [--requests 5000] [--concurrency 1]
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- classifier-cpu [--rounds 7]                (CPU time per message, beside a floor)
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- fleet-storm [--clusters 20] [--storm 5] [--pods 100] [--workloads 5]
if (args.Length > 0 && args[0] == KubernetesWatchMemory.Mode)
{
    return await KubernetesWatchMemory.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == KubernetesWatchMemory.ChildMode)
{
    return await KubernetesWatchMemory.RunChildAsync(args[1..]);
}

if (args.Length > 0 && args[0] == PullFailureLatencyDriver.Mode)
{
    return await PullFailureLatencyDriver.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == ChildProcessStormApi.ChildMode)
{
    return await ChildProcessStormApi.RunChildAsync(args[1..]);
}

if (args.Length > 0 && args[0] == FleetStormDriver.Mode)
{
    return await FleetStormDriver.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == RemediationDriver.Mode)
{
    return await RemediationDriver.RunAsync(args[1..]);
}

if (Drivers.TryRun(args, out var driver))
{
    return await driver;
}

if (args.Length > 0 && args[0] == DigestBuildDriver.Mode)
{
    return await DigestBuildDriver.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == WebPageLoadDriver.Mode)
{
    return await WebPageLoadDriver.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == ProbeLoadDriver.Mode)
{
    return await ProbeLoadDriver.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == AdmissionLoadDriver.Mode)
{
    return await AdmissionLoadDriver.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == ClassifierCpuDriver.Mode)
{
    return ClassifierCpuDriver.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "slack-load")
{
    return await SlackLoadDriver.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(ImageReferenceBenchmarks).Assembly).Run(args);
return 0;
