using ChatOpsPull.Load;

// dotnet run -c Release --project bench/ChatOpsPull.Load -- alertmanager --duration 20 --connections 32
// dotnet run -c Release --project bench/ChatOpsPull.Load -- alertmanager --url http://127.0.0.1:8080 --token "$TOKEN"
// --count-statements: every SQLite statement the bot runs, counted by kind (SQLite's trace hook: costs CPU, a separate run).
ChatOpsPull.Storage.SqliteStatementCounts.Enabled = args.Contains("--count-statements");
args = [.. args.Where(a => a != "--count-statements")];
return await LoadCommand.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
