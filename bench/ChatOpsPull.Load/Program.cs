using ChatOpsPull.Load;

// dotnet run -c Release --project bench/ChatOpsPull.Load -- alertmanager --duration 20 --connections 32
// dotnet run -c Release --project bench/ChatOpsPull.Load -- alertmanager --url http://127.0.0.1:8080 --token "$TOKEN"
return await LoadCommand.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
