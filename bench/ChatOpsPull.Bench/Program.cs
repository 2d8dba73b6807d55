using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/ChatOpsPull.Bench -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(ChatOpsPull.Bench.ImageReferenceBenchmarks).Assembly).Run(args);
