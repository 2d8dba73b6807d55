using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/ChatOpsPull.Bench -- --filter '*'
// dotnet run -c Release --project bench/ChatOpsPull.Bench -- slack-load --help
if (args.Length > 0 && args[0] == "slack-load")
{
    return await ChatOpsPull.Bench.SlackLoadDriver.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(ChatOpsPull.Bench.ImageReferenceBenchmarks).Assembly).Run(args);
return 0;
